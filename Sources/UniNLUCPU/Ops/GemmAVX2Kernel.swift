// The 6x16 FP32 GEMM micro-kernel for x86-64 CPUs with AVX2 and FMA, generated at run time
// (see X86Assembler for why). Same contract as `GemmMicroKernel.swift`'s Swift kernel:
//   C[6 x 16] (+)= Apack[k x 6] · Bpanel[k x 16]; 12 ymm accumulators, k unrolled by 4.

enum GemmAVX2Kernel {
    /// SysV: rdi = k, rsi = A sliver, rdx = B panel, rcx = C, r8 = row stride of C in bytes,
    /// r9 = accumulate (0: C = A·B, else C += A·B).
    typealias Function = @convention(c) (
        Int, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int
    ) -> Void

    /// The kernel, or nil when the CPU lacks AVX2/FMA or the OS refuses executable memory.
    static let function: Function? = {
        #if os(Linux) && arch(x86_64)
        guard HostCPU.current.hasAVX2FMA, let address = ExecutableMemory.install(generate()) else { return nil }
        return unsafeBitCast(address, to: Function.self)
        #else
        return nil
        #endif
    }()

    /// The machine code (exposed so a test can check it assembles to the expected instructions).
    static func generate() -> [UInt8] {
        var asm = X86Assembler()
        let mr = Gemm.mr
        let aStep = mr * 4  // bytes of A per k
        let bStep = Gemm.nr * 4  // bytes of B per k
        let unroll = 4
        let mainLoop = asm.makeLabel(), tail = asm.makeLabel(), tailLoop = asm.makeLabel()
        let store = asm.makeLabel(), plainStore = asm.makeLabel(), done = asm.makeLabel()

        for r in 0..<UInt8(2 * mr) { asm.vxorps(r, r, r) }
        // Warm the C tile while the products accumulate.
        asm.mov(.rax, .rcx)
        for _ in 0..<mr {
            asm.prefetcht0(.rax, 0)
            asm.prefetcht0(.rax, 60)
            asm.add(.rax, .r8)
        }
        asm.mov(.rax, .rdi)
        asm.shr(.rax, 2)
        asm.jz(tail)

        func step(_ u: Int) {
            asm.vmovupsLoad(12, .rdx, u * bStep)
            asm.vmovupsLoad(13, .rdx, u * bStep + 32)
            for r in 0..<mr {
                let a: UInt8 = r % 2 == 0 ? 14 : 15
                asm.vbroadcastss(a, .rsi, u * aStep + r * 4)
                asm.vfmadd231ps(UInt8(2 * r), 12, a)
                asm.vfmadd231ps(UInt8(2 * r + 1), 13, a)
            }
        }

        asm.bind(mainLoop)
        for u in 0..<unroll { step(u) }
        asm.add(.rsi, Int32(unroll * aStep))
        asm.add(.rdx, Int32(unroll * bStep))
        asm.dec(.rax)
        asm.jnz(mainLoop)

        asm.bind(tail)
        asm.and(.rdi, Int8(unroll - 1))
        asm.jz(store)
        asm.bind(tailLoop)
        step(0)
        asm.add(.rsi, Int32(aStep))
        asm.add(.rdx, Int32(bStep))
        asm.dec(.rdi)
        asm.jnz(tailLoop)

        asm.bind(store)
        asm.test(.r9)
        asm.jz(plainStore)
        for r in 0..<UInt8(mr) {
            asm.vaddps(2 * r, 2 * r, .rcx, 0)
            asm.vaddps(2 * r + 1, 2 * r + 1, .rcx, 32)
            asm.vmovupsStore(.rcx, 0, 2 * r)
            asm.vmovupsStore(.rcx, 32, 2 * r + 1)
            asm.add(.rcx, .r8)
        }
        asm.jmp(done)
        asm.bind(plainStore)
        for r in 0..<UInt8(mr) {
            asm.vmovupsStore(.rcx, 0, 2 * r)
            asm.vmovupsStore(.rcx, 32, 2 * r + 1)
            asm.add(.rcx, .r8)
        }
        asm.bind(done)
        asm.vzeroupper()
        asm.ret()
        return asm.assembled()
    }
}
