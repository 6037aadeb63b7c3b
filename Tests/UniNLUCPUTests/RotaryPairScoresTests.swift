import Foundation
import Testing
import UniNLUCore
import UniNLUCPU

// RexUniNLU's rotary token-pair logits on the CPU against a Double reference: interleaved pairs
// (2m, 2m+1) rotated by position·f_m (dims past 2·frequencies.count untouched), Z = q'·k'ᵀ per sequence.

@Suite("rotaryPairScores matches a Double reference")
struct RotaryPairScoresTests {
    @Test("per-sequence Z with custom (resetting) positions and partial rotation")
    func matchesReference() throws {
        var rng = SeededGenerator(seed: 21)
        let width = 10
        let lengths = [1, 6, 4]
        let rows = lengths.reduce(0, +)
        let frequencies: [Float] = [1, 0.3, 0.01, 0.002]  // 4 pairs of 5: dims 8, 9 pass through
        let positions: [Int32] = [0, 0, 1, 2, 1, 2, 300, 0, 7, 7, 511]
        let qk = (0..<(rows * 2 * width)).map { _ in rng.uniform(-2, 2) }
        let z = try CPUKernels().rotaryPairScores(
            CPUMatrix(rows: rows, columns: 2 * width, values: qk), positions: positions, frequencies: frequencies,
            sequences: PackedSequences(lengths: lengths))
        #expect(z.count == lengths.reduce(0) { $0 + $1 * $1 })

        func rotated(_ row: Int, _ part: Int) -> [Double] {
            var v = (0..<width).map { Double(qk[row * 2 * width + part * width + $0]) }
            let p = Double(positions[row])
            for m in 0..<frequencies.count {
                let angle = p * Double(frequencies[m])
                let a = v[2 * m], b = v[2 * m + 1]
                v[2 * m] = a * cos(angle) - b * sin(angle)
                v[2 * m + 1] = b * cos(angle) + a * sin(angle)
            }
            return v
        }
        var worst = 0.0
        var start = 0, at = 0
        for n in lengths {
            for i in 0..<n {
                for j in 0..<n {
                    let q = rotated(start + i, 0), k = rotated(start + j, 1)
                    let expected = zip(q, k).reduce(0) { $0 + $1.0 * $1.1 }
                    worst = max(worst, abs(Double(z[at + i * n + j]) - expected) / max(1, abs(expected)))
                }
            }
            start += n
            at += n * n
        }
        // Angles up to 511 rad in float32 (as upstream) cost a few 1e-5 of absolute precision.
        #expect(worst < 2e-4, "max relative error \(worst)")
    }
}
