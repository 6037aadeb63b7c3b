import Hummingbird
import UniNLUCore
import UniNLUPipelines

// The one place where errors become HTTP: status, error_type (a closed set, also the `kind`
// label of uninlu_errors_total), the limit's flag when a limit was hit, extra headers, and the
// JSON body `{"error": message, "error_type": kind, "limit": flag?}`.

extension ServerError: HTTPResponseError {
    public var status: HTTPResponse.Status {
        switch self {
        case .bodyTooLarge: return .contentTooLarge
        case .unsupportedMediaType: return .unsupportedMediaType
        case .invalidUTF8, .invalidJSON: return .badRequest
        case .invalidRequest, .schema, .tooManyTexts: return .unprocessableContent
        case .overloaded: return .tooManyRequests
        case .deadlineExceeded: return .gatewayTimeout
        case .shuttingDown, .notReady: return .serviceUnavailable
        case let .routing(status, _): return HTTPResponse.Status(code: status)
        case .engineFailure, .internalError: return .internalServerError
        }
    }

    public var kind: String {
        switch self {
        case .bodyTooLarge, .tooManyTexts: return "limit_exceeded"
        case .unsupportedMediaType: return "unsupported_media_type"
        case .invalidUTF8: return "invalid_utf8"
        case .invalidJSON: return "invalid_json"
        case .invalidRequest: return "invalid_request"
        case let .schema(error, _):
            switch error {
            case .invalidJSON, .notAnObject, .invalidChild: return "invalid_schema"
            case .tooManyLabels, .tooDeep, .labelTooLong, .textTooLong: return "limit_exceeded"
            }
        case .overloaded: return "overloaded"
        case .deadlineExceeded: return "deadline_exceeded"
        case .shuttingDown: return "shutting_down"
        case .notReady: return "not_ready"
        case .routing: return "not_found"
        case .engineFailure: return "engine"
        case .internalError: return "internal"
        }
    }

    /// The flag of the limit that was hit, if one was.
    public var limitFlag: String? {
        switch self {
        case .bodyTooLarge: return "max-body-bytes"
        case .tooManyTexts: return "max-batch-texts"
        case .overloaded: return "max-concurrent-requests"
        case .deadlineExceeded: return "request-timeout-ms"
        case let .schema(error, _):
            switch error {
            case .tooManyLabels: return "max-schema-labels"
            case .tooDeep: return "max-schema-depth"
            case .labelTooLong: return "max-label-length"
            case .textTooLong: return "max-text-length"
            case .invalidJSON, .notAnObject, .invalidChild: return nil
            }
        case .unsupportedMediaType, .invalidUTF8, .invalidJSON, .invalidRequest, .shuttingDown, .notReady, .routing,
             .engineFailure, .internalError:
            return nil
        }
    }

    public var message: String {
        switch self {
        case let .bodyTooLarge(limit): return "request body is larger than \(limit) bytes (--max-body-bytes)"
        case let .unsupportedMediaType(found):
            return "content type \"\(found)\" is not supported; send application/json (UTF-8)"
        case .invalidUTF8: return "request body is not valid UTF-8"
        case let .invalidJSON(detail): return "request body is not valid JSON: \(detail)"
        case let .invalidRequest(detail): return detail
        case let .schema(error, field): return field.map { "\($0): \(error.description)" } ?? error.description
        case let .tooManyTexts(count, limit):
            return "batch has \(count) texts; the limit is \(limit) (--max-batch-texts)"
        case let .overloaded(capacity, _):
            return "the server is at capacity (\(capacity) texts in flight, --max-concurrent-requests); retry later"
        case let .deadlineExceeded(timeout):
            return "the request did not finish within \(timeout.milliseconds) ms (--request-timeout-ms)"
        case .shuttingDown: return "the server is shutting down"
        case let .notReady(reason): return "the model is not ready: \(reason)"
        case let .routing(_, message): return message
        case let .engineFailure(detail): return "inference failed: \(detail)"
        case let .internalError(detail): return "internal error: \(detail)"
        }
    }

    public var headers: HTTPFields {
        switch self {
        case let .overloaded(_, retryAfter): return [.retryAfter: String(retryAfter)]
        case .shuttingDown: return [.retryAfter: "1", .connection: "close"]
        default: return [:]
        }
    }

    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [("error", .string(message)), ("error_type", .string(kind))]
        if let limitFlag { members.append(("limit", .string(limitFlag))) }
        return .object(members)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = Response.json(json, status: status)
        response.headers.append(contentsOf: headers)
        return response
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
