import Testing
@testable import UniNLUCUDA

// What the CUDA backend does on a machine without a GPU (CI): every entry point fails with a typed,
// readable error, never a crash. On a GPU machine these same calls succeed, so the tests branch.

@Suite("CUDA loader without a GPU")
struct CUDALoaderTests {
    @Test("opening a context either succeeds or throws a CUDAError naming the problem")
    func contextFailsCleanly() {
        do {
            let context = try CUDAContext()
            #expect(!context.info.name.isEmpty)
        } catch let error as CUDAError {
            let text = error.description
            #expect(text.contains("CUDA"), "\(text)")
            #expect(text.contains("libcuda") || text.contains("no GPU") || text.contains("CUDA_ERROR"), "\(text)")
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }

    @Test("a missing library is reported with every name tried")
    func missingLibraryNamesCandidates() {
        #expect(throws: CUDAError.self) {
            _ = try DynamicLibrary(name: "libnothing", candidates: ["libuninlu-does-not-exist.so.1", "libuninlu-nope.so"])
        }
        do {
            _ = try DynamicLibrary(name: "libnothing", candidates: ["libuninlu-does-not-exist.so.1"])
        } catch {
            #expect("\(error)".contains("libuninlu-does-not-exist.so.1"))
        }
    }

    @Test("the environment probe reports a problem or a device, and never both missing")
    func probeIsConsistent() {
        let env = CUDAEnvironment.probe()
        if env.canRun {
            #expect(env.device != nil)
            #expect(!env.precisions.isEmpty)
        } else {
            #expect(env.problem?.isEmpty == false)
        }
        #expect(CUDADriver.isAvailable == (env.device != nil))
    }
}
