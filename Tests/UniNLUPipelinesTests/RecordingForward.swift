import Foundation
import UniNLUCore

// Wraps a real engine and records every call, so tests can compare the intermediate values
// (windows, hint ids, per-window logits) against upstream's recordings.

final class RecordingForward: SiameseUIEForward, @unchecked Sendable {
    // @unchecked: mutable state is guarded by `lock`.
    struct Call {
        var hints: [[Int32]]
        var logits: [[PointerLogits]]
    }

    let inner: any SiameseUIEForward
    private let lock = NSLock()
    private var _windows: [[SiameseTextWindow]] = []
    private var _calls: [Call] = []

    init(_ inner: any SiameseUIEForward) { self.inner = inner }

    var windows: [[SiameseTextWindow]] { lock.withLock { _windows } }
    var calls: [Call] { lock.withLock { _calls } }

    func encodeTexts(_ texts: [[SiameseTextWindow]]) async throws -> [any SiameseTextCache] {
        lock.withLock { _windows += texts }
        return try await inner.encodeTexts(texts)
    }

    func pointerLogits(_ jobs: [SiameseHintJob]) async throws -> [[[PointerLogits]]] {
        let logits = try await inner.pointerLogits(jobs)
        lock.withLock {
            for (job, result) in zip(jobs, logits) { _calls.append(Call(hints: job.hints, logits: result)) }
        }
        return logits
    }
}
