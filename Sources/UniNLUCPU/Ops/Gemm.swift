// C[m x n] (+)= A[m x k] · B[k x n], all row-major FP32. The workhorse of the CPU backend:
// every linear layer runs through it with B = Wᵀ packed once at load time.

public enum Gemm {
    /// Computes `c = a · b` (or `c += a · b` when `accumulate`). Parallel over row blocks.
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool = false
    ) {
        let rowBlocks = CPUParallel.chunks(m, grain: 4)
        CPUParallel.forEach(rowBlocks.count, work: m * n * k) { blockIndex in
            for i in rowBlocks[blockIndex] {
                let cRow = c + i * ldc
                if !accumulate { cRow.update(repeating: 0, count: n) }
                let aRow = a + i * lda
                for p in 0..<k {
                    let scale = aRow[p]
                    if scale == 0 { continue }
                    let bRow = b + p * ldb
                    for j in 0..<n { cRow[j] += scale * bRow[j] }
                }
            }
        }
    }
}
