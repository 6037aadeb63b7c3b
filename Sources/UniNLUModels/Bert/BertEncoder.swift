import UniNLUCheckpoint
import UniNLUCore

// The post-LN BERT graph, written once against `EncoderKernels`:
//   embeddings: LN(word[id] + position[pos] + type[type])
//   layer:      a = LN(x + Wo·attn(Wqkv·x)) ; LN(a + W2·gelu(W1·a))
// Query, key and value are fused into one [3H x H] linear at load time.

public struct BertLayer<K: EncoderKernels> {
    let qkv: K.Linear
    let attentionOutput: K.Linear
    let attentionNorm: K.Norm
    let intermediate: K.Linear
    let output: K.Linear
    let outputNorm: K.Norm
}

public struct BertEmbeddings<K: EncoderKernels> {
    let word: K.EmbeddingTable
    let position: K.EmbeddingTable
    let tokenType: K.EmbeddingTable
    let norm: K.Norm
}

public final class BertEncoder<K: EncoderKernels> {
    public let configuration: BertConfiguration
    public let kernels: K
    let embeddings: BertEmbeddings<K>
    let layers: [BertLayer<K>]

    init(configuration: BertConfiguration, kernels: K, embeddings: BertEmbeddings<K>, layers: [BertLayer<K>]) {
        self.configuration = configuration
        self.kernels = kernels
        self.embeddings = embeddings
        self.layers = layers
    }

    public var layerCount: Int { layers.count }

    /// Embeds tokens: ids, absolute positions and token types, one entry per row.
    public func embed(ids: [Int32], positions: [Int32], tokenTypes: [Int32]) throws -> K.Activations {
        guard ids.count == positions.count, ids.count == tokenTypes.count else {
            throw ModelError.invalidInput("ids, positions and token types differ in length")
        }
        if let bad = positions.first(where: { $0 < 0 || Int($0) >= configuration.maxPositions }) {
            throw ModelError.invalidInput("position \(bad) outside 0..<\(configuration.maxPositions)")
        }
        return try kernels.embed(
            tables: [embeddings.word, embeddings.position, embeddings.tokenType],
            ids: [ids, positions, tokenTypes], norm: embeddings.norm)
    }

    /// Runs layers `range` over packed sequences.
    public func run(_ x: K.Activations, layers range: Range<Int>, sequences: PackedSequences) throws -> K.Activations {
        var hidden = x
        let heads = configuration.headCount
        for index in range {
            let layer = layers[index]
            let qkv = try kernels.linear(hidden, layer.qkv, activation: .none, residual: nil)
            let context = try kernels.attention(qkv: qkv, sequences: sequences, heads: heads, headSize: configuration.headSize)
            let attended = try kernels.linearResidualNorm(context, layer.attentionOutput, residual: hidden, layer.attentionNorm)
            let intermediate = try kernels.linear(attended, layer.intermediate, activation: .gelu, residual: nil)
            hidden = try kernels.linearResidualNorm(intermediate, layer.output, residual: attended, layer.outputNorm)
        }
        return hidden
    }
}

extension BertEncoder {
    /// Loads the embeddings under `root` and the layers found under each of `layerPrefixes`, in order
    /// (SiameseUIE keeps layers 0-5 under "plm.encoder.layer" and 6-11 under "crossattention.layer").
    public static func load(
        configuration: BertConfiguration, kernels: K, store: TensorStore,
        root: String, layerPrefixes: [(prefix: String, count: Int)]
    ) throws -> BertEncoder<K> {
        try configuration.validate()
        let c = configuration
        let h = c.hiddenSize
        let names = BertWeightNames.embeddings(root)
        func norm(_ base: String) throws -> K.Norm {
            try kernels.loadNorm(base, width: h, epsilon: c.layerNormEpsilon, from: store)
        }
        func linear(_ base: String, out: Int, in inFeatures: Int) throws -> K.Linear {
            try kernels.loadLinear(base, out: out, in: inFeatures, from: store)
        }
        let embeddings = BertEmbeddings<K>(
            word: try kernels.makeEmbeddingTable(store.take(names.word, shape: [c.vocabularySize, h]), rows: c.vocabularySize, width: h),
            position: try kernels.makeEmbeddingTable(store.take(names.position, shape: [c.maxPositions, h]), rows: c.maxPositions, width: h),
            tokenType: try kernels.makeEmbeddingTable(store.take(names.tokenType, shape: [c.typeVocabularySize, h]), rows: c.typeVocabularySize, width: h),
            norm: try kernels.makeNorm(
                gamma: store.take(names.normWeight, shape: [h]), beta: store.take(names.normBias, shape: [h]),
                epsilon: c.layerNormEpsilon))
        var layers: [BertLayer<K>] = []
        for (prefix, count) in layerPrefixes {
            for i in 0..<count {
                let n = BertWeightNames.Layer(prefix: prefix, layer: i)
                layers.append(BertLayer<K>(
                    qkv: try kernels.loadFusedQKV(query: n.query, key: n.key, value: n.value, width: h, from: store),
                    attentionOutput: try linear(n.attentionOutput, out: h, in: h),
                    attentionNorm: try norm(n.attentionNorm),
                    intermediate: try linear(n.intermediate, out: c.intermediateSize, in: h),
                    output: try linear(n.output, out: h, in: c.intermediateSize),
                    outputNorm: try norm(n.outputNorm)))
            }
        }
        guard layers.count == c.layerCount else {
            throw ModelError.unsupportedConfiguration(family: "BERT", problems: ["found \(layers.count) layers, config says \(c.layerCount)"])
        }
        return BertEncoder(configuration: c, kernels: kernels, embeddings: embeddings, layers: layers)
    }
}
