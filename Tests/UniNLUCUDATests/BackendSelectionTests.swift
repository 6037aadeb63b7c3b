import Foundation
import Testing
import UniNLUCUDA
import UniNLUEngine

// `--backend auto` falls back to the CPU without a GPU; `--backend cuda` there is a clear error.
// On a GPU machine both pick CUDA, so the assertions branch on what this machine has.

@Suite("Backend selection")
struct BackendSelectionTests {
    static let fixtureModel = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/siamese_uie/model")

    @Test("auto resolves to CUDA exactly when the CUDA environment can run")
    func autoFallsBack() throws {
        let env = CUDAEnvironment.probe()
        #expect(try Backend.auto.resolved() == (env.canRun ? .cuda : .cpu))
        #expect(try Backend.cpu.resolved() == .cpu)
    }

    @Test("cuda without a usable GPU is a backendUnavailable error saying why")
    func cudaErrorsClearly() throws {
        guard !CUDAEnvironment.probe().canRun else { return }
        do {
            _ = try Backend.cuda.resolved()
            Issue.record("expected an error")
        } catch let error as EngineError {
            let text = error.description
            #expect(text.contains("backend cuda is not available"), "\(text)")
            #expect(text.contains("libcuda") || text.contains("GPU") || text.contains("CUDA"), "\(text)")
        }
        #expect(throws: EngineError.self) {
            _ = try LoadedModel.load(modelDirectory: Self.fixtureModel, backend: .cuda)
        }
    }

    @Test("loading with auto gives a working model on any machine")
    func autoLoads() async throws {
        let model = try LoadedModel.load(modelDirectory: Self.fixtureModel, backend: .auto)
        #expect(model.backend == (CUDAEnvironment.probe().canRun ? .cuda : .cpu))
        #expect(model.siameseUIE != nil)
    }
}
