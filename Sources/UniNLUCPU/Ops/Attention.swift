import Foundation

// Scaled-dot-product attention over packed sequences, per (sequence, head): softmax over the
// keys whose mask is 1 (upstream adds finfo.min to the others, which gives exactly zero weight).

public enum Attention {
    public static func apply(qkv: CPUMatrix, sequences: PackedSequencesView, heads: Int, headSize: Int) -> CPUMatrix {
        let hidden = heads * headSize
        precondition(qkv.columns == 3 * hidden)
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
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: length)
            defer { scores.deallocate() }
            let acc = UnsafeMutablePointer<Float>.allocate(capacity: headSize)
            defer { acc.deallocate() }
            for i in 0..<length {
                let q = qkv.row(start + i) + h * headSize
                var maxScore = -Float.infinity
                for j in 0..<length {
                    if let mask = sequences.keyMask, mask[start + j] == 0 {
                        scores[j] = -.infinity
                        continue
                    }
                    let k = qkv.row(start + j) + hidden + h * headSize
                    var dot: Float = 0
                    for d in 0..<headSize { dot += q[d] * k[d] }
                    scores[j] = dot * scale
                    maxScore = max(maxScore, scores[j])
                }
                acc.update(repeating: 0, count: headSize)
                var total: Float = 0
                if maxScore == -.infinity {
                    // Every key masked: upstream's finfo.min bias makes the softmax uniform.
                    for j in 0..<length { scores[j] = 1 }
                    total = Float(length)
                } else {
                    for j in 0..<length {
                        let e = scores[j] == -.infinity ? 0 : expf(scores[j] - maxScore)
                        scores[j] = e
                        total += e
                    }
                }
                for j in 0..<length where scores[j] != 0 {
                    let v = qkv.row(start + j) + 2 * hidden + h * headSize
                    let p = scores[j]
                    for d in 0..<headSize { acc[d] += p * v[d] }
                }
                let o = out.row(start + i) + h * headSize
                let inv = 1 / total
                for d in 0..<headSize { o[d] = acc[d] * inv }
            }
        }
        return out
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
