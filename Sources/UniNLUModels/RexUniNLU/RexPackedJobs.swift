import UniNLUCore

/// The jobs of one Rex model call packed into one forward, each padded to a multiple of the length
/// bucket (1: exact lengths). Padding rows take token id 0 and the job's last position id, and their
/// 2-D mask rows and columns are zero: they attend to nothing and nothing attends to them. The
/// distance table's reach is `DisentangledAttentionLayout.bucketedReach` of the largest position span.
struct RexPackedJobs {
    let ids: [Int32]
    let positions: [Int32]
    /// Each job's padded n x n mask, row-major, one after another.
    let masks: [UInt8]
    /// The padded sequences the encoder runs.
    let sequences: PackedSequences
    /// Each job's real token count.
    let realLengths: [Int]
    let reach: Int

    /// Whether any job was padded.
    let isPadded: Bool
    /// The bucket applied: the one asked for, or 1 when the padded jobs would exceed `maxTokens`.
    let bucket: Int

    /// `maxTokens`: the most tokens a replayed forward may have (`EncoderKernels.lengthBucketMaxTokens`);
    /// a larger one is never replayed, so its jobs are packed at exact lengths.
    init(_ jobs: [RexForwardJob], bucket requested: Int, maxTokens: Int = .max) throws {
        let bucket = PackedSequences.effectiveBucket(lengths: jobs.map(\.count), bucket: requested, maxTokens: maxTokens)
        self.bucket = bucket
        let padded = jobs.map { PackedSequences.bucketed($0.count, bucket: bucket) }
        var ids: [Int32] = [], positions: [Int32] = [], masks: [UInt8] = []
        let tokens = padded.reduce(0, +)
        ids.reserveCapacity(tokens)
        positions.reserveCapacity(tokens)
        masks.reserveCapacity(padded.reduce(0) { $0 + $1 * $1 })
        var span = 0
        for (index, job) in jobs.enumerated() {
            guard job.count > 0, job.positions.count == job.count, job.mask.count == job.count * job.count else {
                throw ModelError.invalidInput("job \(index): \(job.count) ids, \(job.positions.count) positions, \(job.mask.count) mask entries")
            }
            let n = job.count, extra = padded[index] - n
            ids += job.ids
            positions += job.positions
            span = max(span, Int((job.positions.max() ?? 0) - (job.positions.min() ?? 0)))
            if extra == 0 {
                masks += job.mask
                continue
            }
            ids += repeatElement(0, count: extra)
            positions += repeatElement(job.positions[n - 1], count: extra)
            for row in 0..<n {
                masks += job.mask[(row * n)..<((row + 1) * n)]
                masks += repeatElement(0, count: extra)
            }
            masks += repeatElement(0, count: extra * padded[index])
        }
        self.ids = ids
        self.positions = positions
        self.masks = masks
        sequences = PackedSequences(lengths: padded)
        realLengths = jobs.map(\.count)
        isPadded = padded != realLengths
        reach = DisentangledAttentionLayout.bucketedReach(span, multiple: bucket)
    }

    /// Each job's real rows within the padded packing (for gatherRows).
    var realRowSegments: [RowSegment] {
        realLengths.enumerated().map { RowSegment(source: 0, start: sequences.offsets[$0.offset], count: $0.element) }
    }

    /// The position ids of the real rows only.
    var realPositions: [Int32] {
        guard isPadded else { return positions }
        return realRowSegments.flatMap { positions[$0.start..<($0.start + $0.count)] }
    }
}
