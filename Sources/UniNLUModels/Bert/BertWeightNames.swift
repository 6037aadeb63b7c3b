// Checkpoint tensor names of the BERT graph, quoted verbatim from upstream. `{layer}` is the layer
// index within its stack; `prefix` is the module path of the stack ("plm.encoder.layer" for the
// lower SiameseUIE layers, "crossattention.layer" for the upper ones).

public enum BertWeightNames {
    public static func embeddings(_ root: String) -> (word: String, position: String, tokenType: String, normWeight: String, normBias: String) {
        ("\(root).embeddings.word_embeddings.weight",
         "\(root).embeddings.position_embeddings.weight",
         "\(root).embeddings.token_type_embeddings.weight",
         "\(root).embeddings.LayerNorm.weight",
         "\(root).embeddings.LayerNorm.bias")
    }

    public struct Layer {
        public let query, key, value, attentionOutput, attentionNorm, intermediate, output, outputNorm: String
        public init(prefix: String, layer: Int) {
            let p = "\(prefix).\(layer)"
            query = "\(p).attention.self.query"
            key = "\(p).attention.self.key"
            value = "\(p).attention.self.value"
            attentionOutput = "\(p).attention.output.dense"
            attentionNorm = "\(p).attention.output.LayerNorm"
            intermediate = "\(p).intermediate.dense"
            output = "\(p).output.dense"
            outputNorm = "\(p).output.LayerNorm"
        }
    }
}
