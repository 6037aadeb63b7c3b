// Scaled-dot-product attention over packed sequences, one (sequence, head) per task, FP32:
// S = Q·Kᵀ and O = P·V through the GEMM (serial inside a task), softmax vectorized in between.
// Softmax is over the keys whose mask is 1 (upstream adds finfo.min to the others, which gives
// exactly zero weight); a row with every key masked is uniform, as finfo.min everywhere gives.

public enum Attention {
    public static func apply(qkv: CPUMatrix, sequences: PackedSequencesView, heads: Int, headSize: Int) -> CPUMatrix {
        let hidden = heads * headSize
        precondition(qkv.columns == 3 * hidden)
        let ld = qkv.columns
        let out = CPUMatrix(rows: qkv.rows, columns: hidden)
        let scale = 1 / Float(headSize).squareRoot()
        let jobs = sequences.count * heads
        let work = (0..<sequences.count).reduce(0) { $0 + sequences.length($1) * sequences.length($1) } * hidden * 4
        CPUParallel.forEach(jobs, work: work) { job in
            let s = job / heads
            let h = job % heads
            let start = sequences.offsets[s]
            let length = sequences.offsets[s + 1] - start
            guard length > 0 else { return }
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: length * length)
            defer { scores.deallocate() }
            // 1 for a key that may be attended to, 0 for padding; nil when there is no mask.
            var keep: UnsafeMutablePointer<Float>? = nil
            if let mask = sequences.keyMask {
                let k = UnsafeMutablePointer<Float>.allocate(capacity: length)
                for j in 0..<length { k[j] = mask[start + j] == 0 ? 0 : 1 }
                keep = k
            }
            defer { keep?.deallocate() }

            let q = qkv.row(start) + h * headSize
            Gemm.multiply(
                m: length, n: length, k: headSize, a: q, lda: ld,
                b: q + hidden, bRowStride: 1, bColumnStride: ld,
                c: scores, ldc: length, parallel: false)
            for i in 0..<length {
                softmax(scores + i * length, count: length, scale: scale, keep: keep)
            }
            Gemm.multiply(
                m: length, n: headSize, k: length, a: scores, lda: length,
                b: q + 2 * hidden, bRowStride: ld, bColumnStride: 1,
                c: out.row(start) + h * headSize, ldc: hidden, parallel: false)
        }
        return out
    }

    /// In place: row ← softmax(scale · row) over the kept keys.
    static func softmax(_ row: UnsafeMutablePointer<Float>, count: Int, scale: Float, keep: UnsafeMutablePointer<Float>?) {
        typealias V = SIMD8<Float>
        let vectorEnd = count / 8 * 8
        var maxima = V(repeating: -.infinity)
        var j = 0
        while j < vectorEnd {
            var v = VectorMath.load(row + j) * scale
            if let keep { v.replace(with: -.infinity, where: VectorMath.load(keep + j) .== 0) }
            VectorMath.store(v, row + j)
            maxima.replace(with: v, where: v .> maxima)  // pointwiseMax is not inlined
            j += 8
        }
        var maximum = VectorMath.largest(maxima)
        for t in vectorEnd..<count {
            let v = keep.map { $0[t] == 0 } == true ? -Float.infinity : row[t] * scale
            row[t] = v
            maximum = max(maximum, v)
        }
        guard maximum > -.infinity else {
            row.update(repeating: 1 / Float(count), count: count)
            return
        }
        var sums = V()
        j = 0
        while j < vectorEnd {
            var e = VectorMath.exp(VectorMath.load(row + j) - maximum)
            if let keep { e *= VectorMath.load(keep + j) }
            VectorMath.store(e, row + j)
            sums += e
            j += 8
        }
        if vectorEnd < count {
            let rest = count - vectorEnd
            var e = VectorMath.exp(VectorMath.loadPartial(row + vectorEnd, count: rest, fill: maximum) - maximum)
            if let keep { e *= VectorMath.loadPartial(keep + vectorEnd, count: rest) } else {
                for t in rest..<8 { e[t] = 0 }
            }
            VectorMath.storePartial(e, row + vectorEnd, count: rest)
            sums += e
        }
        let inverse = 1 / VectorMath.sum(sums)
        j = 0
        while j < vectorEnd {
            VectorMath.store(VectorMath.load(row + j) * inverse, row + j)
            j += 8
        }
        for t in vectorEnd..<count { row[t] *= inverse }
    }
}

/// The packed layout as the CPU ops read it (offsets and an optional key mask).
public struct PackedSequencesView {
    public let offsets: [Int]
    public let keyMask: [UInt8]?
    public var count: Int { offsets.count - 1 }
    public func length(_ i: Int) -> Int { offsets[i + 1] - offsets[i] }
    public init(offsets: [Int], keyMask: [UInt8]?) {
        self.offsets = offsets
        self.keyMask = keyMask
    }
}
