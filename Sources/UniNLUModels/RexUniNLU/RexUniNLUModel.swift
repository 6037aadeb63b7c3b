import UniNLUCheckpoint
import UniNLUCore

// RexUniNLU (`rex/model/model.py` RexModel): the DeBERTa-v2 encoder under "plm", then the rotary
// token-linking head Z = RoPE(ffnq(h))·RoPE(ffnk(h))ᵀ over the custom position ids, with the
// frequencies read from the checkpoint (`rotary_emb.freqs`, upstream 10000^(−2m/H)).
// Tensor names are verbatim from the upstream state dict.

/// Checkpoint names of the Rex head, verbatim (the encoder lives under `root`).
public enum RexUniNLUWeightNames {
    public static let root = "plm"
    public static let query = "ffnq"
    public static let key = "ffnk"
    public static let frequencies = "rotary_emb.freqs"
}

public final class RexUniNLUModel<K: DebertaKernels> {
    typealias WeightNames = RexUniNLUWeightNames

    public let encoder: DebertaV2Encoder<K>
    /// ffnq and ffnk stacked into one [2H x H] linear: columns 0..<H = q, H..<2H = k.
    let queryKey: K.Linear
    public let frequencies: [Float]
    public var kernels: K { encoder.kernels }

    /// Upstream resizes the word embeddings by its four prompt markers ([PREFIX] [TYPE] [CLASSIFY] [MULTICLASSIFY]).
    public static var addedTokenCount: Int { 4 }

    public init(configuration: DebertaV2Configuration, kernels: K, store: TensorStore) throws {
        encoder = try DebertaV2Encoder.load(
            configuration: configuration, kernels: kernels, store: store, root: WeightNames.root,
            extraWordEmbeddingRows: Self.addedTokenCount)
        let h = configuration.hiddenSize
        guard h % 2 == 0 else {
            throw ModelError.unsupportedConfiguration(family: "RexUniNLU", problems: ["hidden_size \(h) is odd (RoPE rotates pairs)"])
        }
        let weight = try store.take("\(WeightNames.query).weight", shape: [h, h]) + store.take("\(WeightNames.key).weight", shape: [h, h])
        let bias = try store.take("\(WeightNames.query).bias", shape: [h]) + store.take("\(WeightNames.key).bias", shape: [h])
        queryKey = try kernels.makeLinear(weight: weight, bias: bias, outFeatures: 2 * h, inFeatures: h)
        frequencies = try store.take(WeightNames.frequencies, shape: [h / 2])
        try store.finish()
    }

    /// Z of every job, all jobs packed into one forward.
    ///
    /// Under a length bucket B > 1 (CUDA graphs on: `kernels.lengthBucket`) each job is padded to a
    /// multiple of B tokens and the relative-distance table to a multiple of B distances, so that
    /// requests of nearby lengths replay one captured encoder. Padding rows take token id 0 and the
    /// job's last position id, attend to nothing and are attended by nothing (zero 2-D mask rows and
    /// columns), and stand apart from the real tokens in the convolution (DebertaV2Encoder.encode);
    /// Z is computed on the real rows only, so no real value changes.
    public func tokenPairLogits(_ jobs: [RexForwardJob]) throws -> [RexTokenPairLogits] {
        guard !jobs.isEmpty else { return [] }
        HostTrace.mark("start")
        let bucket = max(1, kernels.lengthBucket)
        let padded = jobs.map { ($0.count + bucket - 1) / bucket * bucket }
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
        let sequences = PackedSequences(lengths: padded)
        let realLengths = jobs.map(\.count)
        let reach = DisentangledAttentionLayout.bucketedReach(span, multiple: bucket)
        // The 2-D masks and position ids are staged inputs: a replay of this region takes the call's own.
        // The distance table's reach is baked into the graph, so it is part of the shape.
        let shape = ForwardShape(region: "rex.encoder", lengths: padded + [reach], tokens: ids.count)
        guard let paddedQK = try kernels.replayable(shape, {
            HostTrace.mark("inputs concatenated")
            let hidden = try encoder.encode(
                ids: ids, positions: positions, sequences: sequences, masks: masks,
                realLengths: padded == realLengths ? nil : realLengths, reachMultiple: bucket)
            HostTrace.mark("encoder queued")
            return [try kernels.linear(hidden, queryKey, activation: .none, residual: nil)]
        }).first else { throw ModelError.invalidInput("the encoder returned no activation") }
        var qk = paddedQK
        var realPositions = positions
        if padded != realLengths {
            var segments: [RowSegment] = []
            realPositions = []
            realPositions.reserveCapacity(realLengths.reduce(0, +))
            for (s, job) in jobs.enumerated() {
                segments.append(RowSegment(source: 0, start: sequences.offsets[s], count: job.count))
                realPositions += job.positions
            }
            qk = try kernels.gatherRows([paddedQK], segments: segments)
        }
        let z = try kernels.rotaryPairScores(qk, positions: realPositions, frequencies: frequencies, sequences: PackedSequences(lengths: realLengths))
        var offset = 0
        let result = try jobs.map { job in
            defer { offset += job.count * job.count }
            return try RexTokenPairLogits(count: job.count, packed: z, offset: offset)
        }
        HostTrace.mark("results wrapped")
        HostTrace.flush("rex model call, \(jobs.count) jobs, \(ids.count) tokens")
        return result
    }
}
