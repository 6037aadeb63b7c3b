import Foundation
import Testing
import UniNLUCore
import UniNLUCPU

// DeBERTa-v2 disentangled attention on the CPU against a plain Double reference of the formula:
// score = (q·k + q·Kr[δ] + k·Qr[δ]) / sqrt(3d), masked softmax (masked weight 0, all-masked row → 0).

@Suite("disentangledAttention matches a Double reference")
struct DisentangledAttentionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var lengths: [Int]
        var heads: Int
        var headSize: Int
        var span: Int
        var seed: UInt64
        var testDescription: String { "lengths \(lengths) heads \(heads) d \(headSize) span \(span) seed \(seed)" }
    }

    static let cases = [
        Case(lengths: [1], heads: 1, headSize: 3, span: 2, seed: 1),
        Case(lengths: [7, 13, 1], heads: 2, headSize: 5, span: 4, seed: 2),
        Case(lengths: [33], heads: 3, headSize: 16, span: 8, seed: 3),
    ]

    @Test("random q/k/v, positions beyond the clamp edges, random 2-D masks with an all-masked row", arguments: cases)
    func matchesReference(_ c: Case) throws {
        var rng = SeededGenerator(seed: c.seed)
        let hidden = c.heads * c.headSize
        let rows = c.lengths.reduce(0, +)
        let relativeRows = 2 * c.span
        let qkv = (0..<(rows * 3 * hidden)).map { _ in rng.uniform(-2, 2) }
        let projections = (0..<(relativeRows * 3 * hidden)).map { _ in rng.uniform(-2, 2) }
        var mask: [UInt8] = [], index: [Int32] = [], allPositions: [Int32] = []
        for n in c.lengths {
            // Positions spread wider than the span so that δ hits 0 and 2·span−1.
            let positions = (0..<n).map { _ in Int(rng.next() % UInt64(4 * c.span)) }
            allPositions += positions.map { Int32($0) }
            for i in 0..<n {
                for j in 0..<n {
                    mask.append(i == 0 && n > 1 ? 0 : (rng.next() % 4 == 0 ? 0 : 1))
                    index.append(Int32(min(max(positions[i] - positions[j] + c.span, 0), relativeRows - 1)))
                }
            }
        }
        let sequences = PackedSequences(lengths: c.lengths)
        let layout = try DisentangledAttentionLayout(sequences: sequences, mask: mask, positions: allPositions, relativeRows: relativeRows) {
            Int32(min(max(Int($0) + c.span, 0), relativeRows - 1))
        }
        let kernels = CPUKernels()
        let out = try kernels.disentangledAttention(
            qkv: CPUMatrix(rows: rows, columns: 3 * hidden, values: qkv),
            positionProjections: CPUMatrix(rows: relativeRows, columns: 3 * hidden, values: projections),
            layout: layout, heads: c.heads, headSize: c.headSize).values

        var worst = 0.0
        let scale = 1 / (Double(c.headSize) * 3).squareRoot()
        for s in 0..<sequences.count {
            let start = sequences.offsets[s], n = sequences.length(of: s), base = layout.matrixOffsets[s]
            for h in 0..<c.heads {
                for i in 0..<n {
                    var scores = [Double](repeating: -.infinity, count: n)
                    for j in 0..<n where mask[base + i * n + j] != 0 {
                        let r = Int(index[base + i * n + j])
                        var dot = 0.0
                        for d in 0..<c.headSize {
                            let q = Double(qkv[(start + i) * 3 * hidden + h * c.headSize + d])
                            let k = Double(qkv[(start + j) * 3 * hidden + hidden + h * c.headSize + d])
                            let qr = Double(projections[r * 3 * hidden + h * c.headSize + d])
                            let kr = Double(projections[r * 3 * hidden + hidden + h * c.headSize + d])
                            dot += q * k + q * kr + k * qr
                        }
                        scores[j] = dot * scale
                    }
                    let top = scores.max() ?? -.infinity
                    let weights = scores.map { top == -.infinity || $0 == -.infinity ? 0 : exp($0 - top) }
                    let total = weights.reduce(0, +)
                    for d in 0..<c.headSize {
                        var expected = 0.0
                        if total > 0 {
                            for j in 0..<n { expected += weights[j] / total * Double(qkv[(start + j) * 3 * hidden + 2 * hidden + h * c.headSize + d]) }
                        }
                        let ours = Double(out[(start + i) * hidden + h * c.headSize + d])
                        if total == 0 { #expect(ours == 0, "all-masked row \(i) must give exactly 0") }
                        worst = max(worst, abs(ours - expected) / max(1, abs(expected)))
                    }
                }
            }
        }
        #expect(worst < 1e-5, "max relative error \(worst)")
    }

    @Test("a layout with a row outside the relative table, or ids farther apart than its table reaches, is refused")
    func badLayoutIsRefused() {
        #expect(throws: DisentangledAttentionLayout.LayoutError.self) {
            try DisentangledAttentionLayout(sequences: PackedSequences(lengths: [1]), mask: [1], positions: [0], distanceRows: [4], relativeRows: 4)
        }
        #expect(throws: DisentangledAttentionLayout.LayoutError.self) {
            try DisentangledAttentionLayout(
                sequences: PackedSequences(lengths: [2]), mask: [1, 1, 1, 1], positions: [0, 2], distanceRows: [0, 1, 2], relativeRows: 4)
        }
        #expect(throws: DisentangledAttentionLayout.LayoutError.self) {
            try DisentangledAttentionLayout(sequences: PackedSequences(lengths: [2]), mask: [1, 1, 1, 1], positions: [0], distanceRows: [0], relativeRows: 4)
        }
    }

    @Test("isSameInstance: the layout and its copies are, an equal layout built apart is not (a backend restages it)")
    func sameInstance() throws {
        func make() throws -> DisentangledAttentionLayout {
            try DisentangledAttentionLayout(sequences: PackedSequences(lengths: [2, 1]), mask: [1, 0, 1, 1, 1], positions: [0, 1, 0],
                                            distanceRows: [0, 1, 2], relativeRows: 4)
        }
        let a = try make()
        let copy = a
        let apart = try make()
        #expect(a.isSameInstance(as: a))
        #expect(a.isSameInstance(as: copy))
        #expect(a == apart)
        #expect(!a.isSameInstance(as: apart))
    }
}
