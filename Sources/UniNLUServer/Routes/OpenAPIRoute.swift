import Hummingbird

/// `GET /openapi.json`: the API description (OpenAPIDocument.swift), checked against the router's
/// real routes by a test.
struct OpenAPIRoute {
    func register(on router: Router<ServerRequestContext>) {
        router.get("openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
    }
}
