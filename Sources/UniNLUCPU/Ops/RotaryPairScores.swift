import Foundation

// RexUniNLU's token-pair logits: interleaved (GPT-J style) rotary embedding of q and k at each row's
// position id, then Z = q'·k'ᵀ per sequence (no scaling). FP32; angles and cos/sin in FP32 like
// upstream (`freqs = pos · f` in float32).

public enum RotaryPairScores {
    /// `queryKeys` [rows x 2W] = `[q | k]`; returns one row-major n x n matrix per sequence.
    /// Z of every sequence, packed: sequence s's n x n block (row-major) follows the earlier ones.
    public static func apply(_ queryKeys: CPUMatrix, positions: [Int32], frequencies: [Float], offsets: [Int]) -> [Float] {
        let width = queryKeys.columns / 2
        let rows = queryKeys.rows
        // Rotated q (rows x W) and rotated kᵀ per sequence.
        let q = CPUMatrix(rows: rows, columns: width)
        let k = CPUMatrix(rows: rows, columns: width)
        let pairs = min(frequencies.count, width / 2)
        for r in 0..<rows {
            let source = queryKeys.row(r)
            let position = Float(positions[r])
            rotate(source, into: q.row(r), width: width, pairs: pairs, position: position, frequencies: frequencies)
            rotate(source + width, into: k.row(r), width: width, pairs: pairs, position: position, frequencies: frequencies)
        }
        let sequences = offsets.count - 1
        var total = 0
        for s in 0..<max(sequences, 0) {
            let n = offsets[s + 1] - offsets[s]
            total += n * n
        }
        var result = [Float](repeating: 0, count: total)
        var at = 0
        for s in 0..<max(sequences, 0) {
            let start = offsets[s], n = offsets[s + 1] - start
            guard n > 0 else { continue }
            var kT = [Float](repeating: 0, count: width * n)
            for j in 0..<n {
                let kj = k.row(start + j)
                for p in 0..<width { kT[p * n + j] = kj[p] }
            }
            result.withUnsafeMutableBufferPointer { zp in
                kT.withUnsafeBufferPointer { kp in
                    Gemm.multiply(
                        m: n, n: n, k: width, a: q.row(start), lda: width, b: kp.baseAddress!, ldb: n,
                        c: zp.baseAddress! + at, ldc: n)
                }
            }
            at += n * n
        }
        return result
    }

    @inline(__always)
    static func rotate(_ x: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>, width: Int, pairs: Int, position: Float, frequencies: [Float]) {
        for m in 0..<pairs {
            let angle = position * frequencies[m]
            let c = cosf(angle), s = sinf(angle)
            let a = x[2 * m], b = x[2 * m + 1]
            y[2 * m] = a * c - b * s
            y[2 * m + 1] = b * c + a * s
        }
        for d in (2 * pairs)..<width { y[d] = x[d] }
    }
}
