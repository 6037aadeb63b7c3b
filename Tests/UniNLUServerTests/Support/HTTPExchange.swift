import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import UniNLUCore

// One request/response over the real socket, with the body parsed by the order-preserving parser.

struct HTTPExchange: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    func json() throws -> JSONValue { try JSONParser.parse(bytes: body) }

    var errorType: String? { (try? json())?["error_type"]?.stringValue }
    var limit: String? { (try? json())?["limit"]?.stringValue }
}

extension RunningServer {
    func request(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String? = "application/json",
        headers: [(String, String)] = [], timeout: TimeAmount = .seconds(600)
    ) async throws -> HTTPExchange {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let contentType { request.headers.add(name: "content-type", value: contentType) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: timeout)
        let buffer = try await response.body.collect(upTo: 64 << 20)
        return HTTPExchange(status: Int(response.status.code), headers: response.headers, body: Array(buffer.readableBytesView))
    }

    func post(_ path: String, json: JSONValue, headers: [(String, String)] = []) async throws -> HTTPExchange {
        try await request(.POST, path, body: Array(json.serialized().utf8), headers: headers)
    }

    func get(_ path: String) async throws -> HTTPExchange { try await request(.GET, path, contentType: nil) }

    /// The Prometheus exposition, parsed.
    func scrape() async throws -> MetricsText { MetricsText(try await get("/metrics").text) }
}
