// How the scheduler coalesces forward jobs: a token budget per forward and the longest a job may
// wait for company. Both are `uninlu serve` flags (--max-batch-tokens, --max-batch-wait-ms).

public struct BatchPolicy: Sendable, Equatable {
    /// Most rows one forward may carry. An encode job costs the tokens of its windows; a hint job
    /// costs Σ over hints × windows of (window length + hint length), the rows of `[window ; hint]`.
    /// A single job larger than the budget still runs, alone.
    public var maxBatchTokens: Int
    /// How long the oldest queued job may wait for others before its forward starts. Jobs that
    /// arrive while the engine is busy batch anyway; this only matters when the engine is idle.
    public var maxBatchWait: Duration

    public init(maxBatchTokens: Int = 16_384, maxBatchWait: Duration = .milliseconds(2)) {
        self.maxBatchTokens = maxBatchTokens
        self.maxBatchWait = maxBatchWait
    }
}
