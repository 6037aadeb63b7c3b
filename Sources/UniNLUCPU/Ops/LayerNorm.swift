// LayerNorm over each row, FP32 in and out. Statistics are two-pass (mean, then the mean square of
// the deviations) in 16 FP32 lanes, the lanes combined in Double: accurate even when the mean is
// large next to the spread.

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

    static func normalizeRow(_ src: UnsafeMutablePointer<Float>, into dst: UnsafeMutablePointer<Float>, width: Int, _ norm: CPUNorm) {
        typealias V = SIMD8<Float>
        guard width > 0 else { return }
        let vectorEnd = width / 8 * 8
        // Pass 1: mean. Subtracting the first value keeps the FP32 lane sums small.
        let pivot = src[0]
        var s0 = V(), s1 = V()
        var i = 0
        while i + 16 <= vectorEnd {
            s0 += VectorMath.load(src + i) - pivot
            s1 += VectorMath.load(src + i + 8) - pivot
            i += 16
        }
        if i < vectorEnd { s0 += VectorMath.load(src + i) - pivot }
        var total = lanesSum(s0) + lanesSum(s1)
        for j in vectorEnd..<width { total += Double(src[j] - pivot) }
        // x - mean is computed as (x - pivot) - shift: the first difference is exact for values near
        // the pivot, and shift is small, so a large common offset costs no precision.
        let shift = Float(total / Double(width))
        var q0 = V(), q1 = V()
        i = 0
        while i + 16 <= vectorEnd {
            let d0 = (VectorMath.load(src + i) - pivot) - shift, d1 = (VectorMath.load(src + i + 8) - pivot) - shift
            q0 += d0 * d0
            q1 += d1 * d1
            i += 16
        }
        if i < vectorEnd {
            let d = (VectorMath.load(src + i) - pivot) - shift
            q0 += d * d
        }
        var squares = lanesSum(q0) + lanesSum(q1)
        for j in vectorEnd..<width {
            let d = (src[j] - pivot) - shift
            squares += Double(d * d)
        }
        let inv = Float(1.0 / (squares / Double(width) + Double(norm.epsilon)).squareRoot())
        // Pass 3: scale and shift.
        norm.gamma.withUnsafeBufferPointer { gamma in
            norm.beta.withUnsafeBufferPointer { beta in
                let g = gamma.baseAddress!, b = beta.baseAddress!
                var j = 0
                while j < vectorEnd {
                    let v = ((VectorMath.load(src + j) - pivot) - shift) * inv * VectorMath.load(g + j) + VectorMath.load(b + j)
                    VectorMath.store(v, dst + j)
                    j += 8
                }
                for j in vectorEnd..<width { dst[j] = ((src[j] - pivot) - shift) * inv * g[j] + b[j] }
            }
        }
    }

    @inline(__always)
    private static func lanesSum(_ v: SIMD8<Float>) -> Double {
        var s = 0.0
        for i in 0..<8 { s += Double(v[i]) }
        return s
    }
}
