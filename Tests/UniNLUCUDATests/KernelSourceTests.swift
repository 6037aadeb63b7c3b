import Testing
@testable import UniNLUCUDA

// The CUDA C kernel library is a Swift string: check that it is well-formed before a GPU ever sees
// it (balanced delimiters, every entry point the engine resolves is defined), and compile it with
// NVRTC when a libnvrtc is reachable (UNINLU_NVRTC_PATH, e.g. from the nvidia-cuda-nvrtc wheel).

@Suite("CUDA kernel sources")
struct KernelSourceTests {
    @Test("the kernel library has balanced braces and parentheses", arguments: [true, false])
    func balanced(fp16: Bool) {
        let source = KernelLibrary.source(fp16: fp16)
        var depth = ["{": 0, "(": 0, "[": 0]
        for ch in source {
            switch ch {
            case "{": depth["{"]! += 1
            case "}": depth["{"]! -= 1
            case "(": depth["("]! += 1
            case ")": depth["("]! -= 1
            case "[": depth["["]! += 1
            case "]": depth["["]! -= 1
            default: break
            }
            #expect(depth.values.allSatisfy { $0 >= 0 })
        }
        #expect(depth.values.allSatisfy { $0 == 0 }, "\(depth)")
    }

    @Test("every resolved entry point is defined as an extern \"C\" kernel")
    func entryPointsDefined() {
        let source = KernelLibrary.source(fp16: true)
        for name in KernelLibrary.names {
            if name.hasPrefix("disentangled_attention_d") {
                let size = name.dropFirst("disentangled_attention_d".count)
                #expect(source.contains("UNINLU_DISENTANGLED_ATTENTION(\(size))"), "\(name)")
            } else if name.hasPrefix("attention_d") {
                let size = name.dropFirst("attention_d".count)
                #expect(source.contains("UNINLU_ATTENTION(\(size))"), "\(name)")
            } else {
                // `__launch_bounds__(…)` may sit between `void` and the name.
                #expect(source.contains("__global__ void \(name)(") || source.contains("__global__ void __launch_bounds__(")
                    && source.contains(") \(name)("), "\(name)")
            }
        }
        #expect(Set(KernelLibrary.names).count == KernelLibrary.names.count)
    }

    @Test("the precision switch selects the activation type")
    func precisionSwitch() {
        #expect(KernelLibrary.source(fp16: true).hasPrefix("#define UNINLU_FP16 1"))
        #expect(KernelLibrary.source(fp16: false).hasPrefix("#define UNINLU_FP16 0"))
        #expect(!KernelLibrary.source(fp16: true).contains("#include"), "no SDK headers: NVRTC ships none")
    }

    @Test("NVRTC compiles the library for sm_90 when libnvrtc is reachable", arguments: [true, false])
    func compilesWithNVRTC(fp16: Bool) throws {
        guard let compiler = try? KernelCompiler() else { return }  // no NVRTC on this machine: nothing to check
        let cubin = try compiler.compile(source: KernelLibrary.source(fp16: fp16), name: "test.cu", architecture: "sm_90")
        #expect(cubin.count > 10_000)
        #expect(Array(cubin.prefix(4)) == [0x7F, 0x45, 0x4C, 0x46], "a cubin is an ELF image")
    }

    @Test("a compile error comes back as CUDAError.compilation with NVRTC's log")
    func compileErrorIsTyped() {
        guard let compiler = try? KernelCompiler() else { return }
        #expect(throws: CUDAError.self) {
            _ = try compiler.compile(source: "extern \"C\" __global__ void broken( { }", name: "broken.cu", architecture: "sm_90")
        }
    }
}
