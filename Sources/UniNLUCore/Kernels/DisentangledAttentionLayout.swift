// What DeBERTa-v2 attention needs besides q/k/v, per packed sequence: a 2-D attention mask (RexUniNLU
// isolates prompt blocks with it) and the relative-position row of every (query, key) pair, already
// bucketed and clamped by the model graph. Both are host data computed once per forward and shared
// by every layer.

public struct DisentangledAttentionLayout: Sendable, Equatable {
    /// Row ranges of the packed sequences.
    public let sequences: PackedSequences
    /// For sequence `s` of length `n`: `n * n` entries starting at `matrixOffsets[s]`, row-major
    /// (row = query, column = key): 1 when the query may attend to the key.
    public let mask: [UInt8]
    /// Same layout: the relative-embedding row `δ(i, j)` in `0..<relativeRows` for the c2p and p2c terms.
    public let relativeIndex: [Int32]
    /// Rows of the relative-embedding table (`2 * span`).
    public let relativeRows: Int
    /// Start of each sequence's `n * n` block in `mask` and `relativeIndex`, plus the total at the end.
    public let matrixOffsets: [Int]

    public enum LayoutError: Error, CustomStringConvertible {
        case wrongSize(String)
        public var description: String {
            switch self { case let .wrongSize(detail): return "disentangled attention layout: \(detail)" }
        }
    }

    public init(sequences: PackedSequences, mask: [UInt8], relativeIndex: [Int32], relativeRows: Int) throws {
        var offsets = [0]
        for s in 0..<sequences.count {
            let n = sequences.length(of: s)
            offsets.append(offsets[offsets.count - 1] + n * n)
        }
        let total = offsets[offsets.count - 1]
        guard mask.count == total, relativeIndex.count == total else {
            throw LayoutError.wrongSize("\(mask.count) mask and \(relativeIndex.count) index entries for \(total) pairs")
        }
        guard relativeRows > 0, relativeIndex.allSatisfy({ $0 >= 0 && Int($0) < relativeRows }) else {
            throw LayoutError.wrongSize("a relative index outside 0..<\(relativeRows)")
        }
        self.sequences = sequences
        self.mask = mask
        self.relativeIndex = relativeIndex
        self.relativeRows = relativeRows
        matrixOffsets = offsets
    }
}
