import Foundation

// config.json of a DeBERTa-v2 checkpoint (HF `DebertaV2Config`) as RexUniNLU uses it. Absent keys
// take HF's defaults; `validate()` then refuses every value this graph does not compute (e.g. the HF
// default `relative_attention: false`), naming the key, so nothing is silently computed differently.

public struct DebertaV2Configuration: Sendable, Equatable, Decodable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var intermediateSize: Int
    public var hiddenActivation: String
    public var layerNormEpsilon: Float
    public var maxPositions: Int
    public var typeVocabularySize: Int
    public var relativeAttention: Bool
    /// `position_buckets`; also the attention span when positive.
    public var positionBuckets: Int
    /// `max_relative_positions` as written (−1 in RexUniNLU: no log-bucketing, see `relativePositionMode`).
    public var maxRelativePositions: Int
    /// `pos_att_type`, lower-cased (a "c2p|p2c" string is split as HF does).
    public var positionAttentionTypes: [String]
    public var shareAttentionKey: Bool
    /// `norm_rel_ebd` items, lower-cased ("layer_norm" normalises the relative embeddings).
    public var relativeEmbeddingNorm: [String]
    public var positionBiasedInput: Bool
    /// `conv_kernel_size`; 0 means no convolution layer.
    public var convolutionKernelSize: Int
    public var convolutionActivation: String
    public var convolutionGroups: Int
    /// `embedding_size` when present (an `embed_proj` is needed when it differs from `hidden_size`).
    public var embeddingSize: Int?
    /// `attention_head_size` when present.
    public var attentionHeadSize: Int?

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size"
        case hiddenSize = "hidden_size"
        case layerCount = "num_hidden_layers"
        case headCount = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case hiddenActivation = "hidden_act"
        case layerNormEpsilon = "layer_norm_eps"
        case maxPositions = "max_position_embeddings"
        case typeVocabularySize = "type_vocab_size"
        case relativeAttention = "relative_attention"
        case positionBuckets = "position_buckets"
        case maxRelativePositions = "max_relative_positions"
        case positionAttentionTypes = "pos_att_type"
        case shareAttentionKey = "share_att_key"
        case relativeEmbeddingNorm = "norm_rel_ebd"
        case positionBiasedInput = "position_biased_input"
        case convolutionKernelSize = "conv_kernel_size"
        case convolutionActivation = "conv_act"
        case convolutionGroups = "conv_groups"
        case embeddingSize = "embedding_size"
        case attentionHeadSize = "attention_head_size"
    }

    /// The RexUniNLU base configuration (Erlangshen-DeBERTa-v2-97M-Chinese), sizes overridable.
    public init(
        vocabularySize: Int = 12800, hiddenSize: Int = 768, layerCount: Int = 12, headCount: Int = 12,
        intermediateSize: Int = 3072, positionBuckets: Int = 256, maxRelativePositions: Int = -1,
        maxPositions: Int = 512, convolutionKernelSize: Int = 3
    ) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.intermediateSize = intermediateSize
        hiddenActivation = "gelu"
        layerNormEpsilon = 1e-7
        self.maxPositions = maxPositions
        typeVocabularySize = 0
        relativeAttention = true
        self.positionBuckets = positionBuckets
        self.maxRelativePositions = maxRelativePositions
        positionAttentionTypes = ["c2p", "p2c"]
        shareAttentionKey = true
        relativeEmbeddingNorm = ["layer_norm"]
        positionBiasedInput = false
        self.convolutionKernelSize = convolutionKernelSize
        convolutionActivation = "gelu"
        convolutionGroups = 1
        embeddingSize = nil
        attentionHeadSize = nil
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabularySize = try c.decode(Int.self, forKey: .vocabularySize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        layerCount = try c.decode(Int.self, forKey: .layerCount)
        headCount = try c.decode(Int.self, forKey: .headCount)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        // HF DebertaV2Config / upstream module defaults for absent keys.
        hiddenActivation = try c.decodeIfPresent(String.self, forKey: .hiddenActivation) ?? "gelu"
        layerNormEpsilon = try c.decodeIfPresent(Float.self, forKey: .layerNormEpsilon) ?? 1e-7
        maxPositions = try c.decodeIfPresent(Int.self, forKey: .maxPositions) ?? 512
        typeVocabularySize = try c.decodeIfPresent(Int.self, forKey: .typeVocabularySize) ?? 0
        relativeAttention = try c.decodeIfPresent(Bool.self, forKey: .relativeAttention) ?? false
        positionBuckets = try c.decodeIfPresent(Int.self, forKey: .positionBuckets) ?? -1
        maxRelativePositions = try c.decodeIfPresent(Int.self, forKey: .maxRelativePositions) ?? -1
        if let list = try? c.decodeIfPresent([String].self, forKey: .positionAttentionTypes) {
            positionAttentionTypes = list.map { $0.lowercased() }
        } else if let text = try c.decodeIfPresent(String.self, forKey: .positionAttentionTypes) {
            positionAttentionTypes = text.lowercased().split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        } else {
            positionAttentionTypes = []
        }
        shareAttentionKey = try c.decodeIfPresent(Bool.self, forKey: .shareAttentionKey) ?? false
        relativeEmbeddingNorm = (try c.decodeIfPresent(String.self, forKey: .relativeEmbeddingNorm) ?? "none")
            .lowercased().split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        positionBiasedInput = try c.decodeIfPresent(Bool.self, forKey: .positionBiasedInput) ?? true
        convolutionKernelSize = try c.decodeIfPresent(Int.self, forKey: .convolutionKernelSize) ?? 0
        convolutionActivation = try c.decodeIfPresent(String.self, forKey: .convolutionActivation) ?? "tanh"
        convolutionGroups = try c.decodeIfPresent(Int.self, forKey: .convolutionGroups) ?? 1
        embeddingSize = try c.decodeIfPresent(Int.self, forKey: .embeddingSize)
        attentionHeadSize = try c.decodeIfPresent(Int.self, forKey: .attentionHeadSize)
    }

    public var headSize: Int { hiddenSize / headCount }

    /// The attention span: rows `0..<2·span` of the relative embeddings are used (upstream `pos_ebd_size`).
    public var attentionSpan: Int {
        if positionBuckets > 0 { return positionBuckets }
        return maxRelativePositions >= 1 ? maxRelativePositions : maxPositions
    }

    /// How position-id differences become relative-embedding rows. RexUniNLU's model reads the raw
    /// config values, so `max_relative_positions <= 0` (its −1) means raw distances, clamped to the span;
    /// only when both values are positive is HF's log-bucketing applied.
    public var relativePositionMode: RelativePositionMode {
        positionBuckets > 0 && maxRelativePositions > 0
            ? .logBuckets(buckets: positionBuckets, maxPosition: maxRelativePositions) : .raw
    }

    /// Throws when the configuration asks for something this graph does not compute.
    public func validate() throws {
        var problems: [String] = []
        if hiddenActivation != "gelu" { problems.append("hidden_act \"\(hiddenActivation)\" (only \"gelu\", exact erf, is implemented)") }
        if hiddenSize <= 0 || headCount <= 0 || hiddenSize % headCount != 0 {
            problems.append("hidden_size \(hiddenSize) not divisible by num_attention_heads \(headCount)")
        }
        if layerCount <= 0 || intermediateSize <= 0 || vocabularySize <= 0 || maxPositions <= 0 { problems.append("non-positive sizes") }
        if !relativeAttention { problems.append("relative_attention false (only relative attention is implemented)") }
        if positionAttentionTypes.sorted() != ["c2p", "p2c"] {
            problems.append("pos_att_type \(positionAttentionTypes) (only [\"c2p\", \"p2c\"] is implemented)")
        }
        if !shareAttentionKey { problems.append("share_att_key false (separate pos_key_proj/pos_query_proj are not implemented)") }
        if relativeEmbeddingNorm != ["layer_norm"] {
            problems.append("norm_rel_ebd \"\(relativeEmbeddingNorm.joined(separator: "|"))\" (only \"layer_norm\" is implemented)")
        }
        if positionBiasedInput { problems.append("position_biased_input true (absolute position embeddings are not implemented)") }
        if typeVocabularySize != 0 { problems.append("type_vocab_size \(typeVocabularySize) (token-type embeddings are not implemented; expected 0)") }
        if convolutionKernelSize < 0 || (convolutionKernelSize > 0 && convolutionKernelSize % 2 == 0) {
            problems.append("conv_kernel_size \(convolutionKernelSize) (an odd size, or 0 for none)")
        }
        if convolutionKernelSize > 0 && convolutionActivation != "gelu" {
            problems.append("conv_act \"\(convolutionActivation)\" (only \"gelu\" is implemented)")
        }
        if convolutionGroups != 1 { problems.append("conv_groups \(convolutionGroups) (only 1 is implemented)") }
        if let embeddingSize, embeddingSize != hiddenSize {
            problems.append("embedding_size \(embeddingSize) differs from hidden_size \(hiddenSize) (embed_proj is not implemented)")
        }
        if let attentionHeadSize, headCount > 0, attentionHeadSize != hiddenSize / headCount {
            problems.append("attention_head_size \(attentionHeadSize) (only hidden_size / num_attention_heads is implemented)")
        }
        if case let .logBuckets(buckets, maxPosition) = relativePositionMode, buckets < 2 || maxPosition <= buckets / 2 + 1 {
            problems.append("position_buckets \(buckets) with max_relative_positions \(maxPosition) (log-bucketing needs max > buckets/2 + 1)")
        }
        if !problems.isEmpty { throw ModelError.unsupportedConfiguration(family: "DeBERTa-v2", problems: problems) }
    }
}
