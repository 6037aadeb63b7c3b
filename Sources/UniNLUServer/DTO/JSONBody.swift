import Hummingbird
import Foundation
import UniNLUCore

// Reads a request body as JSON with the project's order-preserving parser (schema key order is
// output order, which Codable's dictionaries would lose). Checks, in order: content type, size,
// UTF-8, JSON syntax, top-level object.

enum JSONBody {
    static func read(_ request: Request, context: ServerRequestContext) async throws -> JSONValue {
        try checkContentType(request.headers[.contentType])
        let buffer = try await request.body.collect(upTo: context.maxBodyBytes)
        let bytes = Array(buffer.readableBytesView)
        guard String(validating: bytes, as: UTF8.self) != nil else { throw ServerError.invalidUTF8 }
        let value: JSONValue
        do { value = try JSONParser.parse(bytes: bytes) } catch { throw ServerError.invalidJSON(error.description) }
        guard case .object = value else {
            throw ServerError.invalidRequest("request body must be a JSON object, found \(value.kindName)")
        }
        return value
    }

    /// application/json (or any +json type), charset UTF-8 if one is named. A missing header is
    /// taken as JSON: several existing clients of the FastAPI service send none.
    static func checkContentType(_ header: String?) throws {
        guard let header else { return }
        let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let mediaType = parts.first, mediaType == "application/json" || mediaType.hasSuffix("+json") else {
            throw ServerError.unsupportedMediaType(header)
        }
        for parameter in parts.dropFirst() where parameter.hasPrefix("charset=") {
            let charset = parameter.dropFirst("charset=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            if charset != "utf-8" && charset != "utf8" { throw ServerError.unsupportedMediaType(header) }
        }
    }
}
