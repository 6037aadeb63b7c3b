// Checkpoint tensor names of the DeBERTa-v2 graph, quoted verbatim from upstream (HF
// `DebertaV2Model` under `root`, "plm" in RexUniNLU's state dict). `{layer}` is the layer index.

public enum DebertaV2WeightNames {
    public struct Globals {
        public let wordEmbeddings, embeddingNorm, relativeEmbeddings, relativeNorm, convolution, convolutionNorm: String
        public init(root: String) {
            wordEmbeddings = "\(root).embeddings.word_embeddings.weight"
            embeddingNorm = "\(root).embeddings.LayerNorm"
            relativeEmbeddings = "\(root).encoder.rel_embeddings.weight"
            relativeNorm = "\(root).encoder.LayerNorm"
            convolution = "\(root).encoder.conv.conv"
            convolutionNorm = "\(root).encoder.conv.LayerNorm"
        }
    }

    public struct Layer {
        public let query, key, value, attentionOutput, attentionNorm, intermediate, output, outputNorm: String
        public init(root: String, layer: Int) {
            let p = "\(root).encoder.layer.\(layer)"
            query = "\(p).attention.self.query_proj"
            key = "\(p).attention.self.key_proj"
            value = "\(p).attention.self.value_proj"
            attentionOutput = "\(p).attention.output.dense"
            attentionNorm = "\(p).attention.output.LayerNorm"
            intermediate = "\(p).intermediate.dense"
            output = "\(p).output.dense"
            outputNorm = "\(p).output.LayerNorm"
        }
    }
}
