#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// C[m x n] (+)= A[m x k] · B[k x n], FP32 row-major, FP32 accumulation. The workhorse of the CPU
// backend: every linear layer runs through it with B = Wᵀ packed once at load time.
// Goto/BLIS structure: B is in 16-wide panels (GemmPackedMatrix); A is packed once per call into
// 6-row slivers; C is computed in tasks (row block x column chunk, on all cores) that walk k in
// blocks of at most `kc`; a 6x16 micro-kernel (AVX2/FMA generated at run time, or portable Swift
// SIMD) does the arithmetic.

public enum Gemm {
    /// Micro-tile rows (A sliver height) and columns (B panel width).
    public static let mr = 6
    public static let nr = 16
    /// k-block: a 16 x kc B sliver (16 KiB) stays in L1 while every A sliver of the block passes.
    static let kc = 256
    /// Row block: at most this many slivers per task (192 rows: 192 KiB of A per k-block, for L2).
    /// Measured on Zen 4 (1 MiB L2): 16 slivers was ~8% slower at BERT shapes, 32-64 alike.
    static let mcSlivers = 32
    /// Column chunk: at most this many panels (512 columns) per task.
    static let ncPanels = 32

    /// Which code computes the products.
    public enum Implementation: String, Sendable, CaseIterable {
        /// The 6x16 AVX2/FMA micro-kernel generated at run time (x86-64 with AVX2 and FMA).
        case avx2
        /// The portable Swift SIMD micro-kernel (any CPU).
        case swift
        /// A system BLAS loaded with dlopen (opt-in).
        case blas
    }

    /// The implementations this process can run, best first (probes for a BLAS with dlopen).
    public static var availableImplementations: [Implementation] {
        var list: [Implementation] = []
        if GemmAVX2Kernel.function != nil { list.append(.avx2) }
        list.append(.swift)
        if CBLAS.shared != nil { list.append(.blas) }
        return list
    }

    /// The process-wide choice: UNINLU_CPU_GEMM=avx2|swift|blas forces one (falling back to the
    /// default when it cannot run here); unset or "auto" picks avx2 where the CPU allows, else swift.
    /// A BLAS is only looked for (dlopen) when asked for.
    public static let implementation: Implementation = {
        let requested = getenv("UNINLU_CPU_GEMM").flatMap { Implementation(rawValue: String(cString: $0)) }
        switch requested {
        case .blas? where CBLAS.shared != nil: return .blas
        case .swift?: return .swift
        default: return GemmAVX2Kernel.function != nil ? .avx2 : .swift
        }
    }()

    /// Computes `c = a · b` (or `c += a · b` when `accumulate`) for a row-major `b` with leading
    /// dimension `ldb`. Packs `b` on the way; for a constant `b`, pack it once with
    /// `GemmPackedMatrix` and call `multiply(m:a:lda:b:c:ldc:)`.
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool = false
    ) {
        multiply(
            m: m, n: n, k: k, a: a, lda: lda, b: b, bRowStride: ldb, bColumnStride: 1,
            c: c, ldc: ldc, accumulate: accumulate)
    }

    /// As `multiply(m:n:k:…)` for any strides of B: element (p, j) is `b[p * bRowStride + j * bColumnStride]`
    /// (so Bᵀ of a row-major matrix is `bRowStride: 1, bColumnStride: ld`).
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, bRowStride: Int, bColumnStride: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool = false, parallel: Bool = true, implementation: Implementation = Gemm.implementation
    ) {
        guard m > 0, n > 0 else { return }
        if implementation == .blas, let blas = CBLAS.shared, bColumnStride == 1 {
            blas.multiply(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: bRowStride, c: c, ldc: ldc, accumulate: accumulate)
            return
        }
        let packed = GemmPackedMatrix(
            rows: k, columns: n, source: b, rowStride: bRowStride, columnStride: bColumnStride, parallel: parallel)
        multiply(
            m: m, a: a, lda: lda, b: packed, c: c, ldc: ldc, accumulate: accumulate, parallel: parallel,
            implementation: implementation == .blas ? availableImplementations[0] : implementation)
    }

    /// `c = a · b` (or `c += a · b`) with a pre-packed `b` [k x n]; `a` is [m x k].
    ///
    /// `epilogue(rows, columns)` is called once for every block of C as soon as that block is final,
    /// on the thread that computed it (possibly concurrently for disjoint blocks), so that bias,
    /// activation and residual are applied while the block is still in cache. The blocks tile C.
    public static func multiply(
        m: Int, a: UnsafePointer<Float>, lda: Int, b: GemmPackedMatrix,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false, parallel: Bool = true,
        implementation: Implementation = Gemm.implementation,
        epilogue: ((Range<Int>, Range<Int>) -> Void)? = nil
    ) {
        let n = b.columns, k = b.rows
        guard m > 0, n > 0 else { return }
        if implementation == .blas, let blas = CBLAS.shared, let rowMajor = b.rowMajor {
            blas.multiply(m: m, n: n, k: k, a: a, lda: lda, b: rowMajor, ldb: n, c: c, ldc: ldc, accumulate: accumulate)
            if let epilogue {
                let chunks = CPUParallel.chunks(m, grain: 8)
                CPUParallel.forEach(chunks.count, work: parallel ? m * n * 8 : 0) { epilogue(chunks[$0], 0..<n) }
            }
            return
        }
        let kernel: GemmAVX2Kernel.Function? = implementation == .swift ? nil : GemmAVX2Kernel.function
        let slivers = (m + mr - 1) / mr
        let panels = b.panelCount
        let threads = parallel && 2 * m * n * k >= 2_000_000 ? CPUParallel.threadCount : 1
        var rowBlocks = (slivers + mcSlivers - 1) / mcSlivers
        var columnChunks = (panels + ncPanels - 1) / ncPanels
        if threads > 1 {
            // Enough tasks that every thread gets several, so uneven progress evens out.
            let wanted = threads * 3
            while rowBlocks * columnChunks < wanted && columnChunks < panels { columnChunks += 1 }
            while rowBlocks * columnChunks < wanted && rowBlocks < slivers { rowBlocks += 1 }
        }
        let blockCount = max(1, (k + kc - 1) / kc)
        let blockLength = k == 0 ? 0 : (k + blockCount - 1) / blockCount

        // A is packed once, as [sliver][k][6]: every k-block of a sliver is then contiguous, and
        // every task reads the slivers it needs (packing per task would repeat it per column chunk).
        let packedA = UnsafeMutableRawPointer.allocate(
            byteCount: max(slivers * mr * k, 1) * MemoryLayout<Float>.stride, alignment: 64
        ).assumingMemoryBound(to: Float.self)
        defer { packedA.deallocate() }
        let packGroups = threads > 1 ? min(slivers, threads * 4) : 1
        CPUParallel.forEach(packGroups, work: threads > 1 ? .max : 0) { group in
            let s0 = slivers * group / packGroups, s1 = slivers * (group + 1) / packGroups
            packA(a: a, lda: lda, m: m, k: k, slivers: s0..<s1, into: packedA)
        }

        let tasks = rowBlocks * columnChunks
        let body: (Int) -> Void = { task in
            let rowBlock = task / columnChunks, chunk = task % columnChunks
            let s0 = slivers * rowBlock / rowBlocks, s1 = slivers * (rowBlock + 1) / rowBlocks
            let p0 = panels * chunk / columnChunks, p1 = panels * (chunk + 1) / columnChunks
            runTask(
                m: m, n: n, k: k, packedA: packedA, b: b, c: c, ldc: ldc, accumulate: accumulate,
                slivers: s0..<s1, panels: p0..<p1, blockLength: blockLength, kernel: kernel)
            epilogue?(s0 * mr..<min(s1 * mr, m), p0 * nr..<min(p1 * nr, n))
        }
        CPUParallel.forEach(tasks, work: threads > 1 ? .max : 0, body)
    }

    /// One row block x column chunk of C, over all of k.
    private static func runTask(
        m: Int, n: Int, k: Int, packedA: UnsafePointer<Float>, b: GemmPackedMatrix,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
        slivers: Range<Int>, panels: Range<Int>, blockLength: Int, kernel: GemmAVX2Kernel.Function?
    ) {
        if k == 0 {
            guard !accumulate else { return }
            for i in slivers.lowerBound * mr..<min(slivers.upperBound * mr, m) {
                let lo = panels.lowerBound * nr, hi = min(panels.upperBound * nr, n)
                (c + i * ldc + lo).update(repeating: 0, count: hi - lo)
            }
            return
        }
        let tile = UnsafeMutablePointer<Float>.allocate(capacity: mr * nr)
        defer { tile.deallocate() }

        var p0 = 0
        while p0 < k {
            let kb = min(blockLength, k - p0)
            let add = accumulate || p0 > 0
            for panel in panels {
                let bp = b.panel(panel, row: p0)
                let col0 = panel * nr
                let width = min(nr, n - col0)
                for s in slivers {
                    let row0 = s * mr
                    let height = min(mr, m - row0)
                    let ap = packedA + (s * k + p0) * mr
                    let dst = c + row0 * ldc + col0
                    if height == mr && width == nr {
                        callKernel(kernel, kb, ap, bp, dst, ldc, add)
                    } else {
                        callKernel(kernel, kb, ap, bp, tile, nr, false)
                        for i in 0..<height {
                            let out = dst + i * ldc, t = tile + i * nr
                            if add {
                                for j in 0..<width { out[j] += t[j] }
                            } else {
                                for j in 0..<width { out[j] = t[j] }
                            }
                        }
                    }
                }
            }
            p0 += kb
        }
    }

    @inline(__always)
    private static func callKernel(
        _ kernel: GemmAVX2Kernel.Function?, _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
        _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool
    ) {
        if let kernel {
            kernel(k, a, b, c, ldc * MemoryLayout<Float>.stride, accumulate ? 1 : 0)
        } else {
            GemmMicroKernel.swift(k: k, a: a, b: b, c: c, ldc: ldc, accumulate: accumulate)
        }
    }

    /// Rows of `slivers` of A into slivers of [k x 6] at `packed + sliver * k * 6`, zero rows past m.
    private static func packA(
        a: UnsafePointer<Float>, lda: Int, m: Int, k: Int, slivers: Range<Int>, into packed: UnsafeMutablePointer<Float>
    ) {
        for s in slivers {
            let dst = packed + s * k * mr
            let row0 = s * mr
            if row0 + mr <= m {
                let r0 = a + row0 * lda, r1 = r0 + lda, r2 = r1 + lda
                let r3 = r2 + lda, r4 = r3 + lda, r5 = r4 + lda
                for p in 0..<k {
                    let d = dst + p * mr
                    d[0] = r0[p]; d[1] = r1[p]; d[2] = r2[p]
                    d[3] = r3[p]; d[4] = r4[p]; d[5] = r5[p]
                }
            } else {
                for i in 0..<mr {
                    if row0 + i < m {
                        let src = a + (row0 + i) * lda
                        for p in 0..<k { dst[p * mr + i] = src[p] }
                    } else {
                        for p in 0..<k { dst[p * mr + i] = 0 }
                    }
                }
            }
        }
    }
}
