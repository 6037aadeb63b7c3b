import Testing
@testable import UniNLUCPU

// The run-time generated AVX2 kernel: encodings checked against GNU objdump's reading of the same
// bytes, and the selection logic. Its arithmetic is covered by GemmTests (implementation avx2).

@Suite("GEMM kernels")
struct GemmKernelTests {
    @Test("x86 encodings match objdump's disassembly")
    func encodings() {
        func bytes(_ emit: (inout X86Assembler) -> Void) -> [UInt8] {
            var asm = X86Assembler()
            emit(&asm)
            return asm.assembled()
        }
        #expect(bytes { $0.vfmadd231ps(0, 12, 14) } == [0xC4, 0xC2, 0x1D, 0xB8, 0xC6])  // vfmadd231ps ymm0, ymm12, ymm14
        #expect(bytes { $0.vfmadd231ps(11, 13, 15) } == [0xC4, 0x42, 0x15, 0xB8, 0xDF])
        #expect(bytes { $0.vbroadcastss(15, .rsi, 4) } == [0xC4, 0x62, 0x7D, 0x18, 0x7E, 0x04])
        #expect(bytes { $0.vbroadcastss(14, .rsi, 0) } == [0xC4, 0x62, 0x7D, 0x18, 0x36])
        #expect(bytes { $0.vmovupsLoad(12, .rdx, 0x80) } == [0xC4, 0x61, 0x7C, 0x10, 0xA2, 0x80, 0x00, 0x00, 0x00])
        #expect(bytes { $0.vmovupsStore(.rcx, 32, 11) } == [0xC4, 0x61, 0x7C, 0x11, 0x59, 0x20])
        #expect(bytes { $0.vaddps(8, 8, .rcx, 0) } == [0xC4, 0x61, 0x3C, 0x58, 0x01])
        #expect(bytes { $0.vxorps(9, 9, 9) } == [0xC4, 0x41, 0x34, 0x57, 0xC9])
        #expect(bytes { $0.add(.rdx, 0x100) } == [0x48, 0x81, 0xC2, 0x00, 0x01, 0x00, 0x00])
        #expect(bytes { $0.add(.rsi, 0x18) } == [0x48, 0x83, 0xC6, 0x18])
        #expect(bytes { $0.add(.rcx, .r8) } == [0x4C, 0x01, 0xC1])
        #expect(bytes { $0.mov(.rax, .rdi) } == [0x48, 0x89, 0xF8])
        #expect(bytes { $0.shr(.rax, 2) } == [0x48, 0xC1, 0xE8, 0x02])
        #expect(bytes { $0.and(.rdi, 3) } == [0x48, 0x83, 0xE7, 0x03])
        #expect(bytes { $0.dec(.rdi) } == [0x48, 0xFF, 0xCF])
        #expect(bytes { $0.test(.r9) } == [0x4D, 0x85, 0xC9])
        #expect(bytes { $0.prefetcht0(.rax, 60) } == [0x0F, 0x18, 0x48, 0x3C])
        #expect(bytes { $0.vzeroupper(); $0.ret() } == [0xC5, 0xF8, 0x77, 0xC3])
    }

    @Test("jumps resolve to their labels, backwards and forwards")
    func labels() {
        var asm = X86Assembler()
        let top = asm.makeLabel(), end = asm.makeLabel()
        asm.bind(top)
        asm.dec(.rax)  // 3 bytes
        asm.jnz(top)  // 6 bytes, rel32 = 0 - 9
        asm.jz(end)  // 6 bytes, rel32 = 0
        asm.bind(end)
        asm.ret()
        #expect(asm.assembled() == [0x48, 0xFF, 0xC8, 0x0F, 0x85, 0xF7, 0xFF, 0xFF, 0xFF, 0x0F, 0x84, 0, 0, 0, 0, 0xC3])
    }

    @Test("the AVX2 kernel is available exactly when the CPU has AVX2 and FMA (x86-64 Linux)")
    func availability() {
        #if os(Linux) && arch(x86_64)
        #expect((GemmAVX2Kernel.function != nil) == HostCPU.current.hasAVX2FMA)
        #else
        #expect(GemmAVX2Kernel.function == nil)
        #endif
        #expect(Gemm.availableImplementations.contains(.swift))
        #expect(Gemm.availableImplementations.contains(Gemm.implementation))
    }

    @Test("cpuinfo parsing reads the model name and flags of the first processor")
    func cpuinfo() {
        let text = """
            processor\t: 0
            model name\t: Example CPU @ 3.0GHz
            flags\t\t: fpu sse2 avx fma avx2
            
            processor\t: 1
            model name\t: Other
            flags\t\t: fpu
            """
        let cpu = HostCPU.parse(cpuinfo: text)
        #expect(cpu.modelName == "Example CPU @ 3.0GHz")
        #expect(cpu.hasAVX2FMA)
        #expect(!HostCPU.parse(cpuinfo: "flags : sse2 avx2\n").hasAVX2FMA)
    }
}
