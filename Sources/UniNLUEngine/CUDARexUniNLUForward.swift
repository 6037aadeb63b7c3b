import UniNLUCore
import UniNLUCUDA
import UniNLUModels

// RexUniNLU on the CUDA backend: the model and its CUDA context live on the model thread. A call's
// jobs (all prompts and windows of one schema level) run in packed forwards of at most
// `maxBatchTokens` tokens and `maxBatchPairs` (query, key) pairs (the 2-D mask and relative indices
// are staged per pair), so the hints of a level share one forward where lengths allow.

final class CUDARexUniNLUForward: RexUniNLUForward, CUDAGraphStatistics {
    private let thread: ModelThread<RexUniNLUModel<CUDAKernels>>
    let maxBatchTokens: Int
    let maxBatchPairs: Int

    init(model: RexUniNLUModel<CUDAKernels>, device: Int = 0, maxBatchTokens: Int = 16_384, maxBatchPairs: Int = 1 << 23) {
        thread = ModelThread(label: "uninlu.cuda\(device).rex-uninlu", model: model)
        self.maxBatchTokens = max(1, maxBatchTokens)
        self.maxBatchPairs = max(1, maxBatchPairs)
    }

    /// Splits `jobs` in order into batches within both budgets (a job over a budget runs alone).
    static func batches(_ jobs: [RexForwardJob], maxTokens: Int, maxPairs: Int) -> [[RexForwardJob]] {
        var batches: [[RexForwardJob]] = []
        var tokens = 0, pairs = 0
        for job in jobs {
            if batches.isEmpty || tokens + job.count > maxTokens || pairs + job.count * job.count > maxPairs {
                batches.append([])
                tokens = 0
                pairs = 0
            }
            batches[batches.count - 1].append(job)
            tokens += job.count
            pairs += job.count * job.count
        }
        return batches
    }

    func graphCounters() async throws -> CUDAGraphCounters {
        try await thread.run { $0.kernels.graphCounters }
    }

    func tokenPairLogits(_ jobs: [RexForwardJob]) async throws -> [RexTokenPairLogits] {
        var results: [RexTokenPairLogits] = []
        results.reserveCapacity(jobs.count)
        for batch in Self.batches(jobs, maxTokens: maxBatchTokens, maxPairs: maxBatchPairs) {
            results += try await thread.run { model in
                try model.kernels.context.makeCurrent()
                return try model.tokenPairLogits(batch)
            }
        }
        return results
    }
}
