import UniNLUCore
import UniNLUCPU
import UniNLUModels

// RexUniNLU on the CPU backend: the model lives on its own thread; a call's jobs run in packed
// forwards of at most `maxBatchTokens` tokens (a long text at one schema level is many 512-token
// windows; packing them all at once would only cost memory, the CPU is saturated well before).

final class CPURexUniNLUForward: RexUniNLUForward {
    private let thread: ModelThread<RexUniNLUModel<CPUKernels>>
    let maxBatchTokens: Int

    init(model: RexUniNLUModel<CPUKernels>, maxBatchTokens: Int = 4096) {
        thread = ModelThread(label: "uninlu.cpu.rex-uninlu", model: model)
        self.maxBatchTokens = max(1, maxBatchTokens)
    }

    func tokenPairLogits(_ jobs: [RexForwardJob]) async throws -> [RexTokenPairLogits] {
        var batches: [[RexForwardJob]] = []
        var tokens = 0
        for job in jobs {
            if batches.isEmpty || tokens + job.count > maxBatchTokens {
                batches.append([])
                tokens = 0
            }
            batches[batches.count - 1].append(job)
            tokens += job.count
        }
        var results: [RexTokenPairLogits] = []
        results.reserveCapacity(jobs.count)
        for batch in batches {
            results += try await thread.run { model in try model.tokenPairLogits(batch) }
        }
        return results
    }
}
