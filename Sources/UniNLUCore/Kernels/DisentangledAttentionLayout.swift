// What DeBERTa-v2 attention needs besides q/k/v, per packed sequence: a 2-D attention mask (RexUniNLU
// isolates prompt blocks with it) and the relative-position row of every (query, key) pair. The row
// depends only on the distance of the two position ids, so the layout carries each packed row's
// position id and one table row per distance (bucketed and clamped by the model graph), not an n x n
// index: a backend looks pairs up in it (the CUDA kernels do so on the device, so nothing of size n²
// but the mask is built on the host or uploaded). Shared by every layer of a forward.

public struct DisentangledAttentionLayout: Sendable, Equatable {
    /// Row ranges of the packed sequences.
    public let sequences: PackedSequences
    /// For sequence `s` of length `n`: `n * n` entries starting at `matrixOffsets[s]`, row-major
    /// (row = query, column = key): 1 when the query may attend to the key.
    public let mask: [UInt8]
    /// The position id of every packed row.
    public let positions: [Int32]
    /// `distanceRows[p_i - p_j + reach]`: the relative-embedding row in `0..<relativeRows` of a query at
    /// position `p_i` and a key at `p_j` (c2p and p2c terms). `2 * reach + 1` entries.
    public let distanceRows: [Int32]
    /// Largest |p_i - p_j| the table covers.
    public var reach: Int { (distanceRows.count - 1) / 2 }
    /// Rows of the relative-embedding table (`2 * span`).
    public let relativeRows: Int
    /// Start of each sequence's `n * n` block in `mask`, plus the total at the end.
    public let matrixOffsets: [Int]

    /// Distances past this are refused: the table would be large and the pipeline never makes them.
    public static let maxReach = 1 << 20

    public enum LayoutError: Error, CustomStringConvertible {
        case wrongSize(String)
        public var description: String {
            switch self { case let .wrongSize(detail): return "disentangled attention layout: \(detail)" }
        }
    }

    public init(sequences: PackedSequences, mask: [UInt8], positions: [Int32], distanceRows: [Int32], relativeRows: Int) throws {
        var offsets = [0]
        for s in 0..<sequences.count {
            let n = sequences.length(of: s)
            offsets.append(offsets[offsets.count - 1] + n * n)
        }
        let total = offsets[offsets.count - 1]
        guard mask.count == total, positions.count == sequences.totalRows else {
            throw LayoutError.wrongSize("\(mask.count) mask entries for \(total) pairs, \(positions.count) position ids for \(sequences.totalRows) rows")
        }
        guard distanceRows.count % 2 == 1, (distanceRows.count - 1) / 2 <= Self.maxReach else {
            throw LayoutError.wrongSize("\(distanceRows.count) distance rows (2 * reach + 1, reach at most \(Self.maxReach))")
        }
        guard relativeRows > 0, distanceRows.allSatisfy({ $0 >= 0 && Int($0) < relativeRows }) else {
            throw LayoutError.wrongSize("a relative row outside 0..<\(relativeRows)")
        }
        let reach = (distanceRows.count - 1) / 2
        let farthest = Self.largestDistance(positions: positions, sequences: sequences)
        guard farthest <= reach else {
            throw LayoutError.wrongSize("position ids of one sequence are \(farthest) apart; the distance table reaches \(reach)")
        }
        self.sequences = sequences
        self.mask = mask
        self.positions = positions
        self.distanceRows = distanceRows
        self.relativeRows = relativeRows
        matrixOffsets = offsets
    }

    /// Builds the distance table from `row(distance)` over the distances the position ids can make,
    /// extended to `bucketedReach` (a longer table changes no pair's row; it lets forwards whose
    /// position spans differ a little share one replayable shape).
    public init(sequences: PackedSequences, mask: [UInt8], positions: [Int32], relativeRows: Int, reachMultiple: Int = 1,
                row: (Int32) -> Int32) throws {
        let reach = Self.bucketedReach(Self.largestDistance(positions: positions, sequences: sequences), multiple: reachMultiple)
        guard reach <= Self.maxReach else {
            throw LayoutError.wrongSize("position ids \(reach) apart (at most \(Self.maxReach))")
        }
        try self.init(sequences: sequences, mask: mask, positions: positions,
                      distanceRows: (-reach...reach).map { row(Int32($0)) }, relativeRows: relativeRows)
    }

    /// The table's reach for a largest distance: the distance itself (multiple 1), else the next
    /// multiple strictly above it, so that sequences padded to a multiple of the same bucket whose
    /// position ids run 0..<n (largest distance n - 1) have one reach per padded length.
    public static func bucketedReach(_ largest: Int, multiple: Int) -> Int {
        multiple <= 1 ? largest : (largest / multiple + 1) * multiple
    }

    /// The largest |p_i - p_j| within any one sequence (0 when the ids do not match the rows: the
    /// designated initializer refuses those).
    static func largestDistance(positions: [Int32], sequences: PackedSequences) -> Int {
        guard positions.count == sequences.totalRows else { return 0 }
        var largest = 0
        for s in 0..<sequences.count {
            let rows = positions[sequences.offsets[s]..<sequences.offsets[s + 1]]
            if let low = rows.min(), let high = rows.max() { largest = max(largest, Int(high) - Int(low)) }
        }
        return largest
    }

    /// Whether `other` is this layout itself (the same array buffers), not merely an equal one: O(1)
    /// where `==` walks the n² mask (2 MB at 128 sequences of 128 tokens, about 1.7 ms). A backend
    /// that keeps a layout staged across the layers of one forward asks this, and restages a new
    /// forward's layout instead of comparing it.
    public func isSameInstance(as other: DisentangledAttentionLayout) -> Bool {
        func base<T>(_ array: [T]) -> UInt { array.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } }
        return base(mask) == base(other.mask) && base(positions) == base(other.positions)
            && base(distanceRows) == base(other.distanceRows) && base(matrixOffsets) == base(other.matrixOffsets)
            && mask.count == other.mask.count && relativeRows == other.relativeRows && sequences == other.sequences
    }

    /// The relative-embedding row of packed rows `query` and `key` (of the same sequence).
    @inline(__always)
    public func relativeRow(query: Int, key: Int) -> Int {
        Int(distanceRows[Int(positions[query]) - Int(positions[key]) + reach])
    }
}
