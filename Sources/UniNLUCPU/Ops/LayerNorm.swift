// LayerNorm over each row: statistics accumulated in Double so the reference is not the weak link.

public final class CPUNorm: @unchecked Sendable {
    // @unchecked: immutable after init.
    public let gamma: [Float]
    public let beta: [Float]
    public let epsilon: Float
    public init(gamma: [Float], beta: [Float], epsilon: Float) {
        precondition(gamma.count == beta.count)
        self.gamma = gamma
        self.beta = beta
        self.epsilon = epsilon
    }
}

public enum LayerNorm {
    public static func apply(_ x: CPUMatrix, _ norm: CPUNorm) -> CPUMatrix {
        let width = x.columns
        precondition(width == norm.gamma.count)
        let y = CPUMatrix(rows: x.rows, columns: width)
        let chunks = CPUParallel.chunks(x.rows, grain: 16)
        CPUParallel.forEach(chunks.count, work: x.rows * width * 10) { chunk in
            for r in chunks[chunk] {
                normalizeRow(x.row(r), into: y.row(r), width: width, norm)
            }
        }
        return y
    }

    @inline(__always)
    static func normalizeRow(_ src: UnsafeMutablePointer<Float>, into dst: UnsafeMutablePointer<Float>, width: Int, _ norm: CPUNorm) {
        var sum = 0.0
        for i in 0..<width { sum += Double(src[i]) }
        let mean = sum / Double(width)
        var variance = 0.0
        for i in 0..<width {
            let d = Double(src[i]) - mean
            variance += d * d
        }
        variance /= Double(width)
        let inv = 1.0 / (variance + Double(norm.epsilon)).squareRoot()
        for i in 0..<width {
            dst[i] = Float((Double(src[i]) - mean) * inv) * norm.gamma[i] + norm.beta[i]
        }
    }
}
