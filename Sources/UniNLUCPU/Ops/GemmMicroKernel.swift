// The portable FP32 GEMM micro-kernel: C[6 x 16] (+)= Apack[k x 6] · Bpanel[k x 16], written with
// SIMD8<Float> so that it compiles to whatever the build target has (SSE2 pairs on baseline
// x86-64, NEON with FMA on arm64). The tile is done as two 6x8 halves: 12 accumulators fit the 16
// xmm registers of baseline x86-64 without spilling.

enum GemmMicroKernel {
    typealias Vector = SIMD8<Float>

    static func swift(
        k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        for half in 0..<2 {
            var c0 = Vector(), c1 = Vector(), c2 = Vector(), c3 = Vector(), c4 = Vector(), c5 = Vector()
            var ap = a
            var bp = UnsafeRawPointer(b + half * 8)
            for _ in 0..<k {
                let bv = bp.loadUnaligned(as: Vector.self)
                c0 = multiplyAdd(c0, Vector(repeating: ap[0]), bv)
                c1 = multiplyAdd(c1, Vector(repeating: ap[1]), bv)
                c2 = multiplyAdd(c2, Vector(repeating: ap[2]), bv)
                c3 = multiplyAdd(c3, Vector(repeating: ap[3]), bv)
                c4 = multiplyAdd(c4, Vector(repeating: ap[4]), bv)
                c5 = multiplyAdd(c5, Vector(repeating: ap[5]), bv)
                ap += Gemm.mr
                bp += Gemm.nr * MemoryLayout<Float>.stride
            }
            let base = c + half * 8
            store(c0, base, accumulate)
            store(c1, base + ldc, accumulate)
            store(c2, base + 2 * ldc, accumulate)
            store(c3, base + 3 * ldc, accumulate)
            store(c4, base + 4 * ldc, accumulate)
            store(c5, base + 5 * ldc, accumulate)
        }
    }

    @inline(__always)
    private static func multiplyAdd(_ acc: Vector, _ a: Vector, _ b: Vector) -> Vector {
        #if arch(arm64)
        return acc.addingProduct(a, b)  // fmla
        #else
        return acc + a * b  // no FMA in baseline x86-64; addingProduct would call fmaf per lane
        #endif
    }

    @inline(__always)
    private static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>, _ accumulate: Bool) {
        let raw = UnsafeMutableRawPointer(p)
        raw.storeBytes(of: accumulate ? raw.loadUnaligned(as: Vector.self) + v : v, as: Vector.self)
    }
}
