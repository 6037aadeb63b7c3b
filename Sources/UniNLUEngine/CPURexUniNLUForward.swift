import UniNLUCore
import UniNLUCPU
import UniNLUModels

// RexUniNLU on the CPU backend: the model lives on its own thread; each call runs all its jobs in one
// packed forward.

final class CPURexUniNLUForward: RexUniNLUForward {
    private let thread: ModelThread<RexUniNLUModel<CPUKernels>>

    init(model: RexUniNLUModel<CPUKernels>) {
        thread = ModelThread(label: "uninlu.cpu.rex-uninlu", model: model)
    }

    func tokenPairLogits(_ jobs: [RexForwardJob]) async throws -> [RexTokenPairLogits] {
        try await thread.run { model in try model.tokenPairLogits(jobs) }
    }
}
