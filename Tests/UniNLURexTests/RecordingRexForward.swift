import Foundation
import UniNLUCore

// Wraps a real Rex engine and records every job and its Z, in call order, so tests can compare each
// model input and output with upstream's recording.

final class RecordingRexForward: RexUniNLUForward, @unchecked Sendable {
    // @unchecked: mutable state is guarded by `lock`.
    let inner: any RexUniNLUForward
    private let lock = NSLock()
    private var _calls: [(job: RexForwardJob, z: RexTokenPairLogits)] = []

    init(_ inner: any RexUniNLUForward) { self.inner = inner }

    var calls: [(job: RexForwardJob, z: RexTokenPairLogits)] { lock.withLock { _calls } }

    func tokenPairLogits(_ jobs: [RexForwardJob]) async throws -> [RexTokenPairLogits] {
        let result = try await inner.tokenPairLogits(jobs)
        lock.withLock { _calls += zip(jobs, result).map { ($0, $1) } }
        return result
    }
}
