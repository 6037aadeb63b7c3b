import Foundation

// Where one request's time went: waiting in the scheduler's queue, inside engine forwards, and
// the rest of the pipeline (tokenization, windowing, decoding). Fed by TimedForward as the
// pipeline's forwards complete; read once at the end for the x-*-time headers.

public final class RequestTimings: @unchecked Sendable {
    // @unchecked: every field is read and written under `lock`.
    private let lock = NSLock()
    private var queue: Duration = .zero
    private var forward: Duration = .zero

    public init() {}

    public struct Snapshot: Sendable {
        var queue: Duration
        var forward: Duration
        var total: Duration
        /// The pipeline's own work: tokenization, windowing, span decoding.
        var outsideEngine: Duration { max(.zero, total - queue - forward) }
    }

    func add(_ timing: JobTiming) {
        lock.lock()
        queue += timing.queue
        forward += timing.forward
        lock.unlock()
    }

    func snapshot(total: Duration) -> Snapshot {
        lock.lock()
        defer { lock.unlock() }
        return Snapshot(queue: queue, forward: forward, total: total)
    }
}
