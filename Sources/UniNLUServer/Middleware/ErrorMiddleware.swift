import Hummingbird
import Logging

/// Turns every thrown error into the JSON error response of ServerError+HTTP.swift, counts it by
/// kind, and logs server-side failures at .error, so that nothing reaches Hummingbird's empty 500.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = ServerRequestContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let mapped = Self.map(error, context: context)
            metrics.recordError(kind: mapped.kind)
            if mapped.status.code >= 500 && mapped != .shuttingDown {
                context.logger.error("request failed", metadata: ["error": .string(mapped.message), "error_type": .string(mapped.kind)])
            } else {
                context.logger.debug("request refused", metadata: ["error": .string(mapped.message), "error_type": .string(mapped.kind)])
            }
            return try mapped.response(from: request, context: context)
        }
    }

    static func map(_ error: any Error, context: Context) -> ServerError {
        switch error {
        case let error as ServerError: return error
        case let error as HTTPError:
            if error.status == .contentTooLarge { return .bodyTooLarge(limit: context.maxBodyBytes) }
            let message = error.body ?? (error.status == .notFound ? "no such endpoint" : error.status.reasonPhrase)
            return .routing(status: error.status.code, message: message)
        // NIOTooManyBytesError (body collection over maxUploadSize) reports itself this way.
        case let error as any HTTPResponseError where error.status == .contentTooLarge:
            return .bodyTooLarge(limit: context.maxBodyBytes)
        default: return ServerError.classify(error)
        }
    }
}
