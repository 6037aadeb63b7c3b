import Hummingbird

/// Puts `--max-body-bytes` on the context and refuses a declared Content-Length over it before any
/// of the body is read.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = ServerRequestContext
    let maxBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.maxBodyBytes = maxBodyBytes
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > maxBodyBytes {
            throw ServerError.bodyTooLarge(limit: maxBodyBytes)
        }
        return try await next(request, context)
    }
}
