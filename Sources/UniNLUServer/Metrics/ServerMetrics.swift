import Metrics
import Prometheus
import Synchronization
import UniNLUEngine

/// Every metric the server exposes, made through swift-metrics on this app's own
/// `PrometheusCollectorRegistry` (never the global bootstrap, so that tests and several apps in
/// one process do not share counters). Names follow docs/server.md; label values come from closed
/// sets (route patterns, error kinds), never from raw input.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    let scheduler: SchedulerMetrics
    let requestsInFlight: Meter
    private let deviceMemory: Meter
    /// CUDA replicas whose graph caches are reported at each scrape.
    private let graphReplicas = Mutex<[LoadedModel]>([])

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        let latencyBuckets: [Duration] = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(20), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
        ]
        factory.defaultDurationHistogramBuckets = latencyBuckets
        factory.valueHistogramBuckets["uninlu_batch_size"] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
        factory.valueHistogramBuckets["uninlu_batch_tokens"] = [
            16, 64, 256, 512, 1024, 2048, 4096, 8192, 16_384, 32_768, 65_536,
        ]
        self.factory = factory
        scheduler = SchedulerMetrics(factory: factory)
        requestsInFlight = Meter(label: "uninlu_requests_in_flight", factory: factory)
        deviceMemory = Meter(label: "uninlu_device_memory_bytes", dimensions: [("device", "cpu")], factory: factory)
    }

    /// One finished HTTP request: `endpoint` is the route pattern (or "NotFound").
    func recordRequest(endpoint: String, status: Int, duration: Duration) {
        Counter(label: "uninlu_inference_requests_total", dimensions: [("endpoint", endpoint), ("status", String(status))],
                factory: factory).increment()
        Metrics.Timer(label: "uninlu_inference_latency_seconds", dimensions: [("endpoint", endpoint)], factory: factory)
            .record(duration: duration)
    }

    /// One error answered, by its `error_type` (a closed set, see ServerError+HTTP.swift).
    func recordError(kind: String) {
        Counter(label: "uninlu_errors_total", dimensions: [("kind", kind)], factory: factory).increment()
    }

    /// Where a request's time went (the x-*-time headers), one histogram each.
    func recordPhases(_ timings: RequestTimings.Snapshot) {
        Metrics.Timer(label: "uninlu_request_queue_time_seconds", factory: factory).record(duration: timings.queue)
        Metrics.Timer(label: "uninlu_request_inference_time_seconds", factory: factory).record(duration: timings.forward)
        Metrics.Timer(label: "uninlu_request_tokenization_time_seconds", factory: factory).record(duration: timings.outsideEngine)
    }

    /// A constant 1 whose labels say what is served.
    func setModelInfo(_ info: ModelInfo) {
        Meter(label: "uninlu_model_info", dimensions: [
            ("family", info.family), ("backend", info.backend), ("precision", info.precision),
            ("replicas", String(info.replicas)), ("devices", info.devicesLabel),
        ], factory: factory).set(1)
    }

    /// Refreshed at each scrape.
    func updateDeviceMemory() {
        if let bytes = ProcessMemory.residentBytes() { deviceMemory.set(bytes) }
    }

    /// Reports the CUDA graph caches of `replicas` (CPU replicas report none) at each scrape.
    func watchCUDAGraphs(of replicas: [LoadedModel]) {
        graphReplicas.withLock { $0 = replicas.filter { $0.device != nil } }
    }

    /// Reads each CUDA replica's graph cache (on its model thread) into the uninlu_cuda_graph_* gauges:
    /// totals since start, per device.
    func refreshCUDAGraphs() async {
        let replicas = graphReplicas.withLock { $0 }
        for replica in replicas {
            guard let device = replica.device, let counters = try? await replica.cudaGraphCounters() else { continue }
            let values: [(String, Int)] = [
                ("uninlu_cuda_graph_replays", counters.replays), ("uninlu_cuda_graph_captures", counters.captures),
                ("uninlu_cuda_graph_op_by_op_forwards", counters.eagerRuns), ("uninlu_cuda_graph_mismatches", counters.mismatches),
                ("uninlu_cuda_graph_evictions", counters.evictions), ("uninlu_cuda_graph_capture_failures", counters.captureFailures),
                ("uninlu_cuda_graphs", counters.graphs), ("uninlu_cuda_graph_device_bytes", counters.deviceBytes),
            ]
            for (label, value) in values {
                Meter(label: label, dimensions: [("device", String(device))], factory: factory).set(value)
            }
        }
    }

    /// The Prometheus text exposition of everything above.
    public func exposition() -> String {
        updateDeviceMemory()
        return registry.emitToString()
    }
}
