// A dense layer: y = act(x · Wᵀ + b) (+ residual). Wᵀ is packed once into GEMM panels at init;
// bias, activation and residual are applied by the GEMM epilogue while each block of y is in cache.

public final class CPULinear: @unchecked Sendable {
    // @unchecked: immutable after init.
    public let inFeatures: Int
    public let outFeatures: Int
    let packed: GemmPackedMatrix
    let bias: [Float]

    /// `weight` is PyTorch's [out x in] layout.
    public init(weight: [Float], bias: [Float], outFeatures: Int, inFeatures: Int) {
        precondition(weight.count == outFeatures * inFeatures && bias.count == outFeatures)
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.bias = bias
        packed = weight.withUnsafeBufferPointer {
            GemmPackedMatrix(transposingWeight: $0.baseAddress!, outFeatures: outFeatures, inFeatures: inFeatures)
        }
    }

    public func apply(_ x: CPUMatrix, activation: ActivationKind, residual: CPUMatrix?) -> CPUMatrix {
        precondition(x.columns == inFeatures)
        let y = CPUMatrix(rows: x.rows, columns: outFeatures)
        let width = outFeatures
        bias.withUnsafeBufferPointer { biasBuffer in
            let bias = biasBuffer.baseAddress!
            Gemm.multiply(m: x.rows, a: x.pointer, lda: inFeatures, b: packed, c: y.pointer, ldc: width) { rows, columns in
                let count = columns.count
                for r in rows {
                    let row = y.row(r) + columns.lowerBound
                    let b = bias + columns.lowerBound
                    var j = 0
                    while j + 8 <= count {
                        VectorMath.store(VectorMath.load(row + j) + VectorMath.load(b + j), row + j)
                        j += 8
                    }
                    while j < count {
                        row[j] += b[j]
                        j += 1
                    }
                    if activation == .gelu { Gelu.apply(row, count: count) }
                    if let residual {
                        let res = residual.row(r) + columns.lowerBound
                        j = 0
                        while j + 8 <= count {
                            VectorMath.store(VectorMath.load(row + j) + VectorMath.load(res + j), row + j)
                            j += 8
                        }
                        while j < count {
                            row[j] += res[j]
                            j += 1
                        }
                    }
                }
            }
        }
        return y
    }

    public enum ActivationKind: Sendable { case none, gelu }
}
