// Why the scheduler could not run a job. Mapped to HTTP in ServerError+HTTP.swift.

public enum SchedulerError: Error, Equatable, CustomStringConvertible {
    /// Graceful shutdown has begun; no new work is taken.
    case shuttingDown
    /// A hint job referred to a text cache the scheduler did not create (a programming error).
    case foreignTextCache
    /// The engine returned a different number of results than jobs (a programming error).
    case resultCountMismatch(expected: Int, actual: Int)
    /// Work of one family reached a lane whose engine runs the other (a programming error).
    case wrongEngine(kind: String)

    public var description: String {
        switch self {
        case .shuttingDown: return "the server is shutting down and takes no new work"
        case .foreignTextCache: return "a text cache from outside the batch scheduler was passed to it (this is a bug)"
        case let .resultCountMismatch(expected, actual):
            return "the engine returned \(actual) results for \(expected) jobs (this is a bug)"
        case let .wrongEngine(kind):
            return "a \(kind) job reached an engine of another model family (this is a bug)"
        }
    }
}
