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

    /// The bucket a forward of sequences `lengths` pads to: `bucket`, unless the padded forward
    /// would exceed `maxTokens` (`EncoderKernels.lengthBucketMaxTokens`): such a forward is never
    /// replayed, so its padding would be computed for nothing and it runs at exact lengths (1).
    public static func effectiveBucket(lengths: [Int], bucket: Int, maxTokens: Int) -> Int {
        guard bucket > 1 else { return 1 }
        return lengths.reduce(0) { $0 + bucketed($1, bucket: bucket) } <= maxTokens ? bucket : 1
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
