import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import UniNLUCore
@testable import UniNLUServer

extension ServerTests {
    @Suite("Every error path answers 4xx/5xx JSON that names the problem, and the server lives on")
    struct ErrorPathTests {
        static var limitedSettings: ServerSettings {
            var settings = TestServer.testSettings
            settings.limits.maxTextLength = 50
            settings.limits.maxSchemaLabels = 4
            settings.limits.maxSchemaDepth = 2
            settings.limits.maxLabelLength = 10
            settings.maxBodyBytes = 4096
            settings.maxBatchTexts = 3
            return settings
        }

        struct Case: Sendable, CustomTestStringConvertible {
            var name: String
            var path = "/predict"
            var body: [UInt8]
            var contentType: String? = "application/json"
            var status: Int
            var errorType: String
            var limit: String? = nil
            var messageContains: String? = nil
            var testDescription: String { name }
        }

        static func json(_ text: String) -> [UInt8] { Array(text.utf8) }

        static let cases: [Case] = [
            Case(name: "invalid JSON", body: json(#"{"text": "#), status: 400, errorType: "invalid_json"),
            Case(name: "non-UTF-8 body", body: [0x7B, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D],
                 status: 400, errorType: "invalid_utf8"),
            Case(name: "empty body", body: [], status: 400, errorType: "invalid_json"),
            Case(name: "top level is an array", body: json(#"["text"]"#), status: 422, errorType: "invalid_request"),
            Case(name: "text is a number", body: json(#"{"text": 3, "labels": ["人物"]}"#), status: 422,
                 errorType: "invalid_request", messageContains: "\"text\" must be a string"),
            Case(name: "text missing", body: json(#"{"labels": ["人物"]}"#), status: 422, errorType: "invalid_request",
                 messageContains: "missing field \"text\""),
            Case(name: "labels and schema both missing", body: json(#"{"text": "张三"}"#), status: 422, errorType: "invalid_request"),
            Case(name: "labels and schema both given", body: json(#"{"text": "张三", "labels": ["人物"], "schema": {"人物": null}}"#),
                 status: 422, errorType: "invalid_request"),
            Case(name: "labels is a string", body: json(#"{"text": "张三", "labels": "人物"}"#), status: 422, errorType: "invalid_request"),
            Case(name: "a label is not a string", body: json(#"{"text": "张三", "labels": ["人物", 7]}"#), status: 422,
                 errorType: "invalid_request", messageContains: "labels[1]"),
            Case(name: "schema child is a number", body: json(#"{"text": "张三", "schema": {"人物": 1}}"#), status: 422,
                 errorType: "invalid_schema"),
            Case(name: "schema is a number", body: json(#"{"text": "张三", "schema": 5}"#), status: 422, errorType: "invalid_schema"),
            Case(name: "output_all_prefix is not a boolean", body: json(#"{"text": "张三", "labels": ["人物"], "output_all_prefix": "yes"}"#),
                 status: 422, errorType: "invalid_request"),
            Case(name: "text too long", body: json(#"{"text": "\#(String(repeating: "长", count: 51))", "labels": ["人物"]}"#),
                 status: 422, errorType: "limit_exceeded", limit: "max-text-length"),
            Case(name: "too many labels", body: json(#"{"text": "张三", "labels": ["a", "b", "c", "d", "e"]}"#), status: 422,
                 errorType: "limit_exceeded", limit: "max-schema-labels"),
            Case(name: "schema too deep", body: json(#"{"text": "张三", "schema": {"a": {"b": {"c": null}}}}"#), status: 422,
                 errorType: "limit_exceeded", limit: "max-schema-depth"),
            Case(name: "label too long", body: json(#"{"text": "张三", "labels": ["十一个字的标签名称太长了"]}"#), status: 422,
                 errorType: "limit_exceeded", limit: "max-label-length"),
            Case(name: "body too large", body: json(#"{"text": "\#(String(repeating: "a", count: 5000))", "labels": ["x"]}"#),
                 status: 413, errorType: "limit_exceeded", limit: "max-body-bytes"),
            Case(name: "text/plain content type", body: json(#"{"text": "张三", "labels": ["人物"]}"#), contentType: "text/plain",
                 status: 415, errorType: "unsupported_media_type"),
            Case(name: "form content type", body: json("text=a"), contentType: "application/x-www-form-urlencoded", status: 415,
                 errorType: "unsupported_media_type"),
            Case(name: "JSON in latin-1", body: json(#"{"text": "a", "labels": ["x"]}"#), contentType: "application/json; charset=iso-8859-1",
                 status: 415, errorType: "unsupported_media_type"),
            Case(name: "batch over max-batch-texts", path: "/predict/batch", body: json(#"{"texts": ["a", "b", "c", "d"], "labels": ["x"]}"#),
                 status: 422, errorType: "limit_exceeded", limit: "max-batch-texts"),
            Case(name: "empty batch", path: "/predict/batch", body: json(#"{"texts": [], "labels": ["x"]}"#), status: 422,
                 errorType: "invalid_request"),
            Case(name: "batch with texts and inputs", path: "/predict/batch",
                 body: json(#"{"texts": ["a"], "inputs": [], "labels": ["x"]}"#), status: 422, errorType: "invalid_request"),
            Case(name: "batch item with a bad field", path: "/predict/batch",
                 body: json(#"{"inputs": [{"text": "a", "labels": ["x"]}, {"text": 1, "labels": ["x"]}]}"#), status: 422,
                 errorType: "invalid_request", messageContains: "inputs[1].text"),
            Case(name: "batch item over a limit", path: "/predict/batch",
                 body: json(#"{"texts": ["a", "\#(String(repeating: "长", count: 51))"], "labels": ["x"]}"#), status: 422,
                 errorType: "limit_exceeded", limit: "max-text-length", messageContains: "item 1"),
            Case(name: "unknown path", path: "/nope", body: json("{}"), status: 404, errorType: "not_found"),
        ]

        @Test("bad request is refused with the right status, error_type and limit", arguments: cases)
        func refused(_ item: Case) async throws {
            try await TestServer.with(Self.limitedSettings) { server in
                let response = try await server.request(.POST, item.path, body: item.body, contentType: item.contentType)
                #expect(response.status == item.status, "\(response.text)")
                #expect(response.headers.first(name: "content-type")?.hasPrefix("application/json") == true)
                let body = try response.json()
                let message = try #require(body["error"]?.stringValue)
                #expect(!message.isEmpty)
                #expect(body["error_type"] == .string(item.errorType))
                #expect(body["limit"]?.stringValue == item.limit)
                if let fragment = item.messageContains { #expect(message.contains(fragment), "\(message)") }
                // Still alive and still serving.
                #expect(try await server.get("/health").status == 200)
            }
        }

        @Test("a streamed body without Content-Length over max-body-bytes is refused 413")
        func streamedBodyTooLarge() async throws {
            try await TestServer.with(Self.limitedSettings) { server in
                var request = HTTPClientRequest(url: server.baseURL + "/predict")
                request.method = .POST
                request.headers.add(name: "content-type", value: "application/json")
                let chunks = (0..<10).map { _ in ByteBuffer(string: String(repeating: " ", count: 1000)) }
                request.body = .stream(chunks.async, length: .unknown)
                let response = try await server.client.execute(request, timeout: .seconds(30))
                #expect(response.status.code == 413)
                let body = try JSONParser.parse(bytes: Array(try await response.body.collect(upTo: 1 << 20).readableBytesView))
                #expect(body["limit"] == .string("max-body-bytes"))
            }
        }

        @Test("wrong method on a known path is a JSON 4xx")
        func wrongMethod() async throws {
            try await TestServer.with { server in
                let response = try await server.get("/predict")
                #expect((400..<500).contains(response.status))
                #expect(response.errorType != nil, "\(response.text)")
            }
        }
    }
}

extension Array where Element: Sendable {
    /// The elements as an AsyncSequence (for streamed request bodies).
    var async: AsyncStream<Element> {
        AsyncStream { continuation in
            for element in self { continuation.yield(element) }
            continuation.finish()
        }
    }
}
