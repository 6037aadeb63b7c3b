import UniNLUPipelines

/// Everything a request can fail with, each carrying what the client needs to fix it. Other
/// errors are classified into these at the boundary (``ServerError/classify(_:)``), and
/// ServerError+HTTP.swift maps each case to a status in one exhaustive switch.
public enum ServerError: Error, Equatable {
    case bodyTooLarge(limit: Int)
    case unsupportedMediaType(String)
    case invalidUTF8
    case invalidJSON(String)
    /// A field is missing or has the wrong type.
    case invalidRequest(String)
    /// The schema (or text) is malformed or over a limit; SchemaError says which.
    case schema(SchemaError, field: String?)
    case tooManyTexts(count: Int, limit: Int)
    case overloaded(capacity: Int, retryAfterSeconds: Int)
    case deadlineExceeded(Duration)
    case shuttingDown
    case notReady(String)
    /// No route, or a route without this method (Hummingbird's own errors).
    case routing(status: Int, message: String)
    case engineFailure(String)
    case internalError(String)

    /// The error a thrown value stands for; unknown errors become `internalError` (and are logged
    /// at .error by the error middleware, never swallowed).
    static func classify(_ error: any Error) -> ServerError {
        switch error {
        case let error as ServerError: return error
        case let error as SchemaError: return .schema(error, field: nil)
        case let error as SchedulerError:
            switch error {
            case .shuttingDown: return .shuttingDown
            case .foreignTextCache, .resultCountMismatch, .wrongEngine: return .internalError(error.description)
            }
        case is CancellationError: return .shuttingDown
        default: return .engineFailure(String(describing: error))
        }
    }
}
