import Metrics
import Prometheus

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

    /// The Prometheus text exposition of everything above.
    public func exposition() -> String {
        updateDeviceMemory()
        return registry.emitToString()
    }
}
