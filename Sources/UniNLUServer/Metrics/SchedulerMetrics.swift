import Metrics

// The scheduler's metrics: queue depth, batch size and tokens per forward, forwards by kind,
// time in the queue and in the engine, dropped jobs (caller gone before its forward started).

struct SchedulerMetrics: Sendable {
    let queueDepth: Meter
    let queueTime: Metrics.Timer
    let batchSize: Recorder
    let batchTokens: Recorder
    let droppedJobs: Counter
    let forwardFailures: Counter
    private let forwards: [ForwardWork.Kind: Counter]
    private let forwardDurations: [ForwardWork.Kind: Metrics.Timer]

    init(factory: any MetricsFactory) {
        queueDepth = Meter(label: "uninlu_queue_depth", factory: factory)
        queueTime = Metrics.Timer(label: "uninlu_queue_time_seconds", factory: factory)
        batchSize = Recorder(label: "uninlu_batch_size", aggregate: true, factory: factory)
        batchTokens = Recorder(label: "uninlu_batch_tokens", aggregate: true, factory: factory)
        droppedJobs = Counter(label: "uninlu_dropped_jobs_total", factory: factory)
        forwardFailures = Counter(label: "uninlu_forward_failures_total", factory: factory)
        var forwards: [ForwardWork.Kind: Counter] = [:]
        var durations: [ForwardWork.Kind: Metrics.Timer] = [:]
        for kind in ForwardWork.Kind.allCases {
            forwards[kind] = Counter(label: "uninlu_forwards_total", dimensions: [("kind", kind.rawValue)], factory: factory)
            durations[kind] = Metrics.Timer(
                label: "uninlu_forward_duration_seconds", dimensions: [("kind", kind.rawValue)], factory: factory)
        }
        self.forwards = forwards
        self.forwardDurations = durations
    }

    func recordForward(kind: ForwardWork.Kind, jobs: Int, tokens: Int) {
        forwards[kind]?.increment()
        batchSize.record(jobs)
        batchTokens.record(tokens)
    }

    func forwardDuration(_ kind: ForwardWork.Kind) -> Metrics.Timer? { forwardDurations[kind] }
}
