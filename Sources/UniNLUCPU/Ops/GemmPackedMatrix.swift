// The right-hand GEMM operand B[k x n] in the layout the micro-kernels read: ceil(n/16) panels,
// each k rows of 16 consecutive floats (columns past n are zero), 64-byte aligned. Weights are
// packed once when a layer is built; attention packs its K and V slices per call.

public final class GemmPackedMatrix: @unchecked Sendable {
    // @unchecked: written only in init, immutable afterwards.
    /// k: rows of B (the reduction length).
    public let rows: Int
    /// n: columns of B (the output width).
    public let columns: Int
    let panels: UnsafeMutableRawPointer
    /// Row-major [k x n] copy for a dlopen'ed cblas_sgemm; only kept when BLAS is the process's GEMM.
    let rowMajor: UnsafeMutablePointer<Float>?

    var panelCount: Int { (columns + Gemm.nr - 1) / Gemm.nr }

    /// Packs B where element (p, j) is `source[p * rowStride + j * columnStride]`.
    init(
        rows k: Int, columns n: Int, source: UnsafePointer<Float>, rowStride: Int, columnStride: Int,
        keepRowMajor: Bool = false, parallel: Bool = true
    ) {
        rows = k
        columns = n
        let nr = Gemm.nr
        let panelCount = (n + nr - 1) / nr
        panels = .allocate(byteCount: max(panelCount * k * nr, 1) * MemoryLayout<Float>.stride, alignment: 64)
        let packed = panels.assumingMemoryBound(to: Float.self)
        CPUParallel.forEach(panelCount, work: parallel ? k * n * 4 : 0) { panel in
            let dst = packed + panel * k * nr
            let col0 = panel * nr
            let width = min(nr, n - col0)
            if columnStride == 1 {
                for p in 0..<k {
                    let src = source + p * rowStride + col0
                    let row = dst + p * nr
                    for c in 0..<width { row[c] = src[c] }
                    for c in width..<nr { row[c] = 0 }
                }
            } else {
                for c in 0..<nr {
                    guard c < width else {
                        for p in 0..<k { dst[p * nr + c] = 0 }
                        continue
                    }
                    let src = source + (col0 + c) * columnStride
                    for p in 0..<k { dst[p * nr + c] = src[p * rowStride] }
                }
            }
        }
        if keepRowMajor {
            let copy = UnsafeMutablePointer<Float>.allocate(capacity: max(k * n, 1))
            for p in 0..<k {
                for j in 0..<n { copy[p * n + j] = source[p * rowStride + j * columnStride] }
            }
            rowMajor = copy
        } else {
            rowMajor = nil
        }
    }

    /// Packs the transpose of a PyTorch `nn.Linear` weight ([outFeatures x inFeatures], row-major),
    /// so that `x · Wᵀ` is `multiply(x, packed)`.
    public convenience init(transposingWeight weight: UnsafePointer<Float>, outFeatures: Int, inFeatures: Int) {
        self.init(
            rows: inFeatures, columns: outFeatures, source: weight, rowStride: 1, columnStride: inFeatures,
            keepRowMajor: Gemm.implementation == .blas)
    }

    deinit {
        panels.deallocate()
        rowMajor?.deallocate()
    }

    /// Start of panel `index`, at reduction row `p`.
    @inline(__always)
    func panel(_ index: Int, row p: Int) -> UnsafePointer<Float> {
        UnsafePointer(panels.assumingMemoryBound(to: Float.self) + (index * rows + p) * Gemm.nr)
    }
}
