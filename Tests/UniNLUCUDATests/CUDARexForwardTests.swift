import Testing
import UniNLUCore
@testable import UniNLUEngine

// The CUDA Rex engine packs the jobs of one pipeline call (the prompts and windows of a schema level)
// into as few forwards as its token and (query, key)-pair budgets allow, in order.

@Suite("CUDA Rex forward packing")
struct CUDARexForwardTests {
    static func job(_ n: Int) -> RexForwardJob {
        RexForwardJob(ids: [Int32](repeating: 1, count: n), positions: (0..<n).map { Int32($0) }, mask: [UInt8](repeating: 1, count: n * n))
    }

    @Test("a level's jobs share one forward when they fit; budgets split them in order; an oversized job runs alone")
    func batches() {
        let jobs = [40, 60, 30, 500, 20].map(Self.job)
        let one = CUDARexUniNLUForward.batches(jobs, maxTokens: 16_384, maxPairs: 1 << 23)
        #expect(one.map { $0.map(\.count) } == [[40, 60, 30, 500, 20]])
        let byTokens = CUDARexUniNLUForward.batches(jobs, maxTokens: 130, maxPairs: 1 << 23)
        #expect(byTokens.map { $0.map(\.count) } == [[40, 60, 30], [500], [20]])
        let byPairs = CUDARexUniNLUForward.batches(jobs, maxTokens: 16_384, maxPairs: 500 * 500)
        #expect(byPairs.map { $0.map(\.count) } == [[40, 60, 30], [500], [20]])
        #expect(CUDARexUniNLUForward.batches([], maxTokens: 10, maxPairs: 10).isEmpty)
    }
}
