// A dense layer with its weight stored transposed ([in x out], row-major) so that the GEMM reads
// it contiguously; the bias is added with the optional activation and residual in one pass.

public final class CPULinear: @unchecked Sendable {
    // @unchecked: immutable after init.
    public let inFeatures: Int
    public let outFeatures: Int
    let weightT: UnsafeMutableBufferPointer<Float>
    let bias: [Float]

    /// `weight` is PyTorch's [out x in] layout.
    public init(weight: [Float], bias: [Float], outFeatures: Int, inFeatures: Int) {
        precondition(weight.count == outFeatures * inFeatures && bias.count == outFeatures)
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.bias = bias
        weightT = .allocate(capacity: max(inFeatures * outFeatures, 1))
        for o in 0..<outFeatures {
            for i in 0..<inFeatures { weightT[i * outFeatures + o] = weight[o * inFeatures + i] }
        }
    }

    deinit { weightT.deallocate() }

    public func apply(_ x: CPUMatrix, activation: ActivationKind, residual: CPUMatrix?) -> CPUMatrix {
        precondition(x.columns == inFeatures)
        let y = CPUMatrix(rows: x.rows, columns: outFeatures)
        Gemm.multiply(
            m: x.rows, n: outFeatures, k: inFeatures,
            a: x.pointer, lda: inFeatures, b: weightT.baseAddress!, ldb: outFeatures,
            c: y.pointer, ldc: outFeatures)
        let chunks = CPUParallel.chunks(x.rows, grain: 8)
        CPUParallel.forEach(chunks.count, work: x.rows * outFeatures * 8) { chunk in
            for r in chunks[chunk] {
                let row = y.row(r)
                for o in 0..<outFeatures { row[o] += bias[o] }
                if activation == .gelu { Gelu.apply(row, count: outFeatures) }
                if let residual {
                    let res = residual.row(r)
                    for o in 0..<outFeatures { row[o] += res[o] }
                }
            }
        }
        return y
    }

    public enum ActivationKind: Sendable { case none, gelu }
}
