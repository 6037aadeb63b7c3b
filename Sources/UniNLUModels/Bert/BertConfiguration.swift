import Foundation

// config.json of a BERT checkpoint (HF / ModelScope `BertConfig`). Keys that change the graph are
// required; a value we do not implement is an error, never silently computed as something else.

public struct BertConfiguration: Sendable, Equatable, Decodable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var intermediateSize: Int
    public var hiddenActivation: String
    public var maxPositions: Int
    public var typeVocabularySize: Int
    public var layerNormEpsilon: Float
    public var positionEmbeddingType: String

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size"
        case hiddenSize = "hidden_size"
        case layerCount = "num_hidden_layers"
        case headCount = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case hiddenActivation = "hidden_act"
        case maxPositions = "max_position_embeddings"
        case typeVocabularySize = "type_vocab_size"
        case layerNormEpsilon = "layer_norm_eps"
        case positionEmbeddingType = "position_embedding_type"
    }

    public init(
        vocabularySize: Int, hiddenSize: Int, layerCount: Int, headCount: Int, intermediateSize: Int,
        hiddenActivation: String = "gelu", maxPositions: Int = 512, typeVocabularySize: Int = 2,
        layerNormEpsilon: Float = 1e-12, positionEmbeddingType: String = "absolute"
    ) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.intermediateSize = intermediateSize
        self.hiddenActivation = hiddenActivation
        self.maxPositions = maxPositions
        self.typeVocabularySize = typeVocabularySize
        self.layerNormEpsilon = layerNormEpsilon
        self.positionEmbeddingType = positionEmbeddingType
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabularySize = try c.decode(Int.self, forKey: .vocabularySize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        layerCount = try c.decode(Int.self, forKey: .layerCount)
        headCount = try c.decode(Int.self, forKey: .headCount)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        // HF defaults for keys that old configs omit.
        hiddenActivation = try c.decodeIfPresent(String.self, forKey: .hiddenActivation) ?? "gelu"
        maxPositions = try c.decodeIfPresent(Int.self, forKey: .maxPositions) ?? 512
        typeVocabularySize = try c.decodeIfPresent(Int.self, forKey: .typeVocabularySize) ?? 2
        layerNormEpsilon = try c.decodeIfPresent(Float.self, forKey: .layerNormEpsilon) ?? 1e-12
        positionEmbeddingType = try c.decodeIfPresent(String.self, forKey: .positionEmbeddingType) ?? "absolute"
    }

    public var headSize: Int { hiddenSize / headCount }

    /// Throws when the configuration asks for something this graph does not compute.
    public func validate() throws {
        var problems: [String] = []
        if hiddenActivation != "gelu" { problems.append("hidden_act \"\(hiddenActivation)\" (only \"gelu\", exact erf, is implemented)") }
        if positionEmbeddingType != "absolute" { problems.append("position_embedding_type \"\(positionEmbeddingType)\" (only \"absolute\")") }
        if hiddenSize <= 0 || headCount <= 0 || hiddenSize % headCount != 0 { problems.append("hidden_size \(hiddenSize) not divisible by num_attention_heads \(headCount)") }
        if layerCount <= 0 || intermediateSize <= 0 || vocabularySize <= 0 || maxPositions <= 0 { problems.append("non-positive sizes") }
        if !problems.isEmpty { throw ModelError.unsupportedConfiguration(family: "BERT", problems: problems) }
    }
}
