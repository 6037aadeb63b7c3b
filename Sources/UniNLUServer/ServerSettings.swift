import UniNLUPipelines

/// Everything `uninlu serve` can be told, with the defaults docs/server.md documents. Every limit
/// is a flag of the same name in kebab case (`maxBodyBytes` ↔ `--max-body-bytes`).
public struct ServerSettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 8000
    /// Text length, schema labels, depth and label length (shared with `uninlu predict`).
    public var limits = InputLimits()
    /// Largest request body; more is answered 413 without reading it whole.
    public var maxBodyBytes = 2 * 1024 * 1024
    /// Texts admitted at once (running or queued; a batch request counts each text). This bounds
    /// the queue: one more is answered 429 with Retry-After.
    public var maxConcurrentRequests = 512
    /// Most texts in one /predict/batch request.
    public var maxBatchTexts = 64
    /// Token budget and maximum wait of cross-request batching.
    public var batchPolicy = BatchPolicy()
    /// From admission to answer; past it the request is answered 504 and its queued work dropped.
    public var requestTimeout: Duration = .seconds(30)
    /// After SIGTERM/SIGINT: how long in-flight requests may take to finish before being cancelled.
    public var shutdownTimeout: Duration = .seconds(30)
    /// The Retry-After header of a 429, in seconds.
    public var retryAfterSeconds = 1

    public init() {}
}
