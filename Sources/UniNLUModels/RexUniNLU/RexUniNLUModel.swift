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
    /// multiple of B tokens and the relative-distance table extended to the next multiple of B above
    /// the largest distance (RexPackedJobs), so that requests of nearby lengths replay one captured
    /// encoder. Padding rows attend to nothing, are attended by nothing and stand apart from the real
    /// tokens in the convolution (DebertaV2Encoder.encode); Z is computed on the real rows only, so no
    /// real value changes. A forward that padded would exceed `lengthBucketMaxTokens` is never
    /// replayed and runs at exact lengths.
    public func tokenPairLogits(_ jobs: [RexForwardJob]) throws -> [RexTokenPairLogits] {
        guard !jobs.isEmpty else { return [] }
        HostTrace.mark("start")
        let packed = try RexPackedJobs(jobs, bucket: max(1, kernels.lengthBucket), maxTokens: kernels.lengthBucketMaxTokens)
        // The 2-D masks and position ids are staged inputs: a replay of this region takes the call's own.
        // The distance table's reach is baked into the graph, so it is part of the shape.
        let shape = ForwardShape(
            region: "rex.encoder", lengths: (0..<jobs.count).map(packed.sequences.length(of:)) + [packed.reach], tokens: packed.ids.count)
        guard let paddedQK = try kernels.replayable(shape, {
            HostTrace.mark("inputs concatenated")
            let hidden = try encoder.encode(
                ids: packed.ids, positions: packed.positions, sequences: packed.sequences, masks: packed.masks,
                realLengths: packed.isPadded ? packed.realLengths : nil, reachMultiple: packed.bucket)
            HostTrace.mark("encoder queued")
            return [try kernels.linear(hidden, queryKey, activation: .none, residual: nil)]
        }).first else { throw ModelError.invalidInput("the encoder returned no activation") }
        let qk = packed.isPadded ? try kernels.gatherRows([paddedQK], segments: packed.realRowSegments) : paddedQK
        let z = try kernels.rotaryPairScores(
            qk, positions: packed.realPositions, frequencies: frequencies, sequences: PackedSequences(lengths: packed.realLengths))
        var offset = 0
        let result = try jobs.map { job in
            defer { offset += job.count * job.count }
            return try RexTokenPairLogits(count: job.count, packed: z, offset: offset)
        }
        HostTrace.mark("results wrapped")
        HostTrace.flush("rex model call, \(jobs.count) jobs, \(packed.ids.count) tokens")
        return result
    }
}
