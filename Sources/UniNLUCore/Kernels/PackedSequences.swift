// Several token sequences packed back to back with no padding (TEI's `cumulative_seq_lengths`).
// Attention never crosses a sequence boundary; inside a sequence it is bidirectional over the keys
// whose mask is 1.

public struct PackedSequences: Sendable, Equatable {
    /// Row offsets: sequence `i` occupies rows `offsets[i] ..< offsets[i+1]`. Starts with 0.
    public let offsets: [Int]
    /// Per row: 1 when the token may be attended to as a key, 0 for padding. `nil` = all ones.
    public let keyMask: [UInt8]?

    public init(lengths: [Int], keyMask: [UInt8]? = nil) {
        var offsets = [0]
        offsets.reserveCapacity(lengths.count + 1)
        for length in lengths { offsets.append(offsets[offsets.count - 1] + length) }
        self.offsets = offsets
        if let keyMask { precondition(keyMask.count == offsets[offsets.count - 1], "key mask must cover every row") }
        self.keyMask = keyMask
    }

    public var count: Int { offsets.count - 1 }
    public var totalRows: Int { offsets[offsets.count - 1] }
    public func length(of sequence: Int) -> Int { offsets[sequence + 1] - offsets[sequence] }
    public var maxLength: Int { (0..<count).map(length(of:)).max() ?? 0 }

    /// `length` padded up to a multiple of `bucket` (`EncoderKernels.lengthBucket`; 1 or less: unchanged).
    public static func bucketed(_ length: Int, bucket: Int) -> Int {
        bucket > 1 ? (length + bucket - 1) / bucket * bucket : length
    }
}

/// A run of rows copied from a source activation into a gathered one.
public struct RowSegment: Sendable, Equatable {
    public var source: Int
    public var start: Int
    public var count: Int
    public init(source: Int, start: Int, count: Int) {
        self.source = source
        self.start = start
        self.count = count
    }
}
