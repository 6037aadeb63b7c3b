import UniNLUEngine

// How the scheduler coalesces forward jobs: a token budget per forward and the longest a job may
// wait for company. Both are `uninlu serve` flags (--max-batch-tokens, --max-batch-wait-ms), whose
// defaults depend on the backend (`defaults(for:)`).

public struct BatchPolicy: Sendable, Equatable {
    /// Most rows one forward may carry. An encode job costs the tokens of its windows; a hint job
    /// costs Σ over hints × windows of (window length + hint length), the rows of `[window ; hint]`.
    /// A single job larger than the budget still runs, alone.
    public var maxBatchTokens: Int
    /// How long the oldest queued job may wait for others before its forward starts. Jobs that
    /// arrive while the engine is busy batch anyway and go as soon as it is free; this only matters
    /// when the engine was idle.
    public var maxBatchWait: Duration

    public init(maxBatchTokens: Int = 16_384, maxBatchWait: Duration = .milliseconds(2)) {
        self.maxBatchTokens = maxBatchTokens
        self.maxBatchWait = maxBatchWait
    }

    /// The defaults of `uninlu serve` for a resolved backend. CPU: 16,384 rows and 2 ms (a CPU
    /// forward of a short request costs milliseconds, so a short wait for company pays). CUDA:
    /// 16,384 rows (≈4 ms for the upper six BERT-base layers on an H100, well inside a 20 ms p99)
    /// and 0.5 ms: a GPU forward of a few requests is launch-bound (≈0.7 ms), so waiting longer than
    /// that for company at low load costs more latency than it saves; under load the engine is never
    /// idle and the wait does not apply.
    public static func defaults(for backend: Backend) -> BatchPolicy {
        switch backend {
        case .cuda: return BatchPolicy(maxBatchTokens: 16_384, maxBatchWait: .microseconds(500))
        case .auto, .cpu: return BatchPolicy(maxBatchTokens: 16_384, maxBatchWait: .milliseconds(2))
        }
    }
}
