import HTTPTypes
import Hummingbird
import Logging

/// Gives every request an id (the client's `x-request-id` when it is a sane token, else a fresh
/// one), puts it on the request's logger and the response, and logs one line per request with
/// method, route, status and duration.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = ServerRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id = request.headers[.requestID].flatMap(Self.acceptable) ?? Self.freshID()
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        let start = ContinuousClock.now
        do {
            var response = try await next(request, context)
            response.headers[.requestID] = id
            context.logger.info("request", metadata: [
                "method": .string(request.method.rawValue), "path": .string(request.uri.path),
                "status": .stringConvertible(response.status.code),
                "duration_ms": .stringConvertible((ContinuousClock.now - start).milliseconds),
            ])
            return response
        } catch {
            // Only reached if the error middleware itself failed; Hummingbird answers 500.
            context.logger.error("request failed", metadata: ["error": .string(String(describing: error))])
            throw error
        }
    }

    private static func acceptable(_ value: String) -> String? {
        guard (1...128).contains(value.utf8.count),
              value.utf8.allSatisfy({ $0 == 0x2D || $0 == 0x5F || $0 == 0x2E || (0x30...0x39).contains($0)
                  || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) })
        else { return nil }
        return value
    }

    private static func freshID() -> String {
        let value = UInt64.random(in: 0...UInt64.max)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension HTTPField.Name {
    static let requestID = Self("x-request-id")!
}
