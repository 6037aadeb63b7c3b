import Hummingbird

/// `GET /metrics`: the Prometheus text exposition of this app's registry.
struct MetricsRoute {
    let metrics: ServerMetrics

    func register(on router: Router<ServerRequestContext>) {
        router.get("metrics") { _, _ in
            await metrics.refreshCUDAGraphs()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.exposition())))
        }
    }
}
