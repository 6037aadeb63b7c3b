import Foundation
import Testing
@testable import UniNLUCPU

// Attention over packed sequences against a double reference: softmax(q·kᵀ/√d) over the keys whose
// mask is 1, never across sequences; a row whose keys are all masked averages every value row
// (upstream's finfo.min bias on every key gives a uniform softmax). Budget per output: FP32 rounding
// of the scores, 8·√d·u·max_j Σ|q·k|/√d, moves each softmax weight by about twice that relatively,
// so 2·max|v|·that, plus 2e-6·(1 + max|v|) for the softmax and P·V sums.

struct AttentionCase: CustomTestStringConvertible, Sendable {
    let lengths: [Int], heads: Int, headSize: Int
    /// Which rows are padding (key mask 0), as (sequence, position) pairs; "all" masks a whole sequence.
    let masked: [Int: [Int]]
    let scoreScale: Float
    var testDescription: String { "lengths=\(lengths) heads=\(heads)x\(headSize) masked=\(masked.keys.sorted()) scale=\(scoreScale)" }
}

@Suite("attention")
struct AttentionTests {
    static let cases: [AttentionCase] = [
        AttentionCase(lengths: [1], heads: 1, headSize: 1, masked: [:], scoreScale: 1),
        AttentionCase(lengths: [1], heads: 2, headSize: 3, masked: [0: [0]], scoreScale: 1),
        AttentionCase(lengths: [7], heads: 3, headSize: 5, masked: [:], scoreScale: 1),
        AttentionCase(lengths: [1, 7, 33, 9], heads: 2, headSize: 64, masked: [1: [5, 6], 2: Array(20..<33)], scoreScale: 1),
        AttentionCase(lengths: [5, 6], heads: 2, headSize: 16, masked: [0: [0, 1, 2, 3, 4]], scoreScale: 1),
        AttentionCase(lengths: [128], heads: 12, headSize: 64, masked: [0: Array(100..<128)], scoreScale: 1),
        AttentionCase(lengths: [130, 17], heads: 4, headSize: 64, masked: [:], scoreScale: 6),
        AttentionCase(lengths: [0, 3, 0], heads: 1, headSize: 8, masked: [:], scoreScale: 1),
    ]

    @Test("attention matches a double reference: masks, fully masked rows, length 1, packed sequences", arguments: cases)
    func matchesReference(shape: AttentionCase) {
        let seed = TestSeed.make(shape.lengths.reduce(0, +), shape.heads, shape.headSize)
        var rng = SeededGenerator(seed: seed)
        let hidden = shape.heads * shape.headSize
        let rows = shape.lengths.reduce(0, +)
        let qkv = [Float].random(count: rows * 3 * hidden, in: -shape.scoreScale...shape.scoreScale, using: &rng)
        var offsets = [0]
        for length in shape.lengths { offsets.append(offsets.last! + length) }
        var mask = [UInt8](repeating: 1, count: rows)
        for (sequence, positions) in shape.masked {
            for p in positions { mask[offsets[sequence] + p] = 0 }
        }
        let y = Attention.apply(
            qkv: matrix(rows, 3 * hidden, qkv),
            sequences: PackedSequencesView(offsets: offsets, keyMask: shape.masked.isEmpty ? nil : mask),
            heads: shape.heads, headSize: shape.headSize
        ).values

        var reference = [Double](repeating: 0, count: rows * hidden)
        var budget = [Double](repeating: 0, count: rows * hidden)
        let u = Double(Float.ulpOfOne) / 2
        let scale = 1 / Double(shape.headSize).squareRoot()
        func value(_ row: Int, _ part: Int, _ head: Int, _ d: Int) -> Double {
            Double(qkv[row * 3 * hidden + part * hidden + head * shape.headSize + d])
        }
        for s in shape.lengths.indices {
            let start = offsets[s], length = shape.lengths[s]
            for h in 0..<shape.heads {
                let maxV = (0..<length).flatMap { j in (0..<shape.headSize).map { abs(value(start + j, 2, h, $0)) } }.max() ?? 0
                for i in 0..<length {
                    var scores = [Double](repeating: -.infinity, count: length)
                    var scoreMagnitude = 0.0
                    for j in 0..<length {
                        scoreMagnitude = max(scoreMagnitude, (0..<shape.headSize).reduce(0.0) { $0 + abs(value(start + i, 0, h, $1) * value(start + j, 1, h, $1)) } * scale)
                    }
                    let scoreError = 8 * Double(shape.headSize).squareRoot() * u * scoreMagnitude
                    for j in 0..<length where mask[start + j] == 1 {
                        scores[j] = (0..<shape.headSize).reduce(0.0) { $0 + value(start + i, 0, h, $1) * value(start + j, 1, h, $1) } * scale
                    }
                    let top = scores.max() ?? -.infinity
                    let weights = top == -.infinity ? [Double](repeating: 1, count: length) : scores.map { Foundation.exp($0 - top) }
                    let total = weights.reduce(0, +)
                    for d in 0..<shape.headSize {
                        reference[(start + i) * hidden + h * shape.headSize + d] =
                            (0..<length).reduce(0.0) { $0 + weights[$1] * value(start + $1, 2, h, d) } / total
                        budget[(start + i) * hidden + h * shape.headSize + d] = 2 * maxV * scoreError + 2e-6 * (1 + maxV)
                    }
                }
            }
        }
        let (worst, index) = worstScaledError(y, reference, scale: budget)
        #expect(worst <= 1, "\(shape.testDescription) seed=\(seed): element \(index) off by \(worst)x its budget \(index >= 0 ? budget[index] : 0)")
    }
}
