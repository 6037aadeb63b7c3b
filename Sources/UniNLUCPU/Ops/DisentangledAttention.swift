import Foundation
import UniNLUCore

// DeBERTa-v2 disentangled attention (c2p + p2c, shared key/query projections), FP32, per
// (sequence, head): score = (q·k + q·Kr[δ] + k·Qr[δ]) / sqrt(3d), masked softmax with the 2-D mask
// (masked weights exactly 0, an all-masked row gives zeros as upstream XSoftmax), then P·v.

public enum DisentangledAttention {
    /// `qkv` [rows x 3H]; `positions` [2·span x ≥2H] holding `[Qr | Kr | …]`; returns [rows x H].
    public static func apply(qkv: CPUMatrix, positions: CPUMatrix, layout: DisentangledAttentionLayout, heads: Int, headSize: Int) -> CPUMatrix {
        let hidden = heads * headSize
        let sequences = layout.sequences
        let out = CPUMatrix(rows: qkv.rows, columns: hidden)
        let scale = 1 / (Float(headSize) * 3).squareRoot()
        let work = (0..<sequences.count).reduce(0) { $0 + sequences.length(of: $1) * sequences.length(of: $1) } * hidden * 8
        CPUParallel.forEach(sequences.count * heads, work: work) { job in
            let s = job / heads
            let h = job % heads
            let start = sequences.offsets[s]
            let n = sequences.length(of: s)
            guard n > 0 else { return }
            let base = layout.matrixOffsets[s]
            let reach = layout.reach
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: n)
            defer { scores.deallocate() }
            let acc = UnsafeMutablePointer<Float>.allocate(capacity: headSize)
            defer { acc.deallocate() }
            layout.mask.withUnsafeBufferPointer { mask in
                layout.distanceRows.withUnsafeBufferPointer { rows in
                    for i in 0..<n {
                        let q = qkv.row(start + i) + h * headSize
                        let queryDistanceBase = Int(layout.positions[start + i]) + reach
                        var maxScore = -Float.infinity
                        for j in 0..<n {
                            let pair = base + i * n + j
                            if mask[pair] == 0 {
                                scores[j] = -.infinity
                                continue
                            }
                            let k = qkv.row(start + j) + hidden + h * headSize
                            let r = Int(rows[queryDistanceBase - Int(layout.positions[start + j])])
                            let qr = positions.row(r) + h * headSize
                            let kr = positions.row(r) + hidden + h * headSize
                            scores[j] = dot(q, k, qr, kr, headSize) * scale
                            maxScore = max(maxScore, scores[j])
                        }
                        let o = out.row(start + i) + h * headSize
                        guard maxScore > -.infinity else {
                            o.update(repeating: 0, count: headSize)
                            continue
                        }
                        var total: Float = 0
                        for j in 0..<n {
                            let e = scores[j] == -.infinity ? 0 : expf(scores[j] - maxScore)
                            scores[j] = e
                            total += e
                        }
                        acc.update(repeating: 0, count: headSize)
                        for j in 0..<n where scores[j] != 0 {
                            let v = qkv.row(start + j) + 2 * hidden + h * headSize
                            let p = scores[j]
                            for d in 0..<headSize { acc[d] += p * v[d] }
                        }
                        let inv = 1 / total
                        for d in 0..<headSize { o[d] = acc[d] * inv }
                    }
                }
            }
        }
        return out
    }

    /// q·(k + kr) + k·qr, eight lanes at a time (Swift does not reassociate a scalar float sum, so
    /// the plain loop would not vectorise).
    @inline(__always)
    static func dot(_ q: UnsafeMutablePointer<Float>, _ k: UnsafeMutablePointer<Float>, _ qr: UnsafeMutablePointer<Float>, _ kr: UnsafeMutablePointer<Float>, _ count: Int) -> Float {
        var lanes = SIMD8<Float>()
        var d = 0
        while d + 8 <= count {
            let qv = UnsafeRawPointer(q + d).loadUnaligned(as: SIMD8<Float>.self)
            let kv = UnsafeRawPointer(k + d).loadUnaligned(as: SIMD8<Float>.self)
            let qrv = UnsafeRawPointer(qr + d).loadUnaligned(as: SIMD8<Float>.self)
            let krv = UnsafeRawPointer(kr + d).loadUnaligned(as: SIMD8<Float>.self)
            lanes += qv * (kv + krv) + kv * qrv
            d += 8
        }
        var total = lanes.sum()
        while d < count {
            total += q[d] * (k[d] + kr[d]) + k[d] * qr[d]
            d += 1
        }
        return total
    }
}
