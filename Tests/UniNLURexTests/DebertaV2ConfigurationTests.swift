import Foundation
import Testing
import UniNLUModels

// config.json handling: the RexUniNLU keys decode to the graph we compute; every key whose absence
// (HF default) or value would change the computation is refused with its name.

@Suite("DeBERTa-v2 configuration")
struct DebertaV2ConfigurationTests {
    static let rexKeys = """
        "model_type": "deberta-v2", "vocab_size": 12800, "hidden_size": 32, "num_hidden_layers": 2,
        "num_attention_heads": 2, "intermediate_size": 64, "hidden_act": "gelu", "layer_norm_eps": 1e-7,
        "max_position_embeddings": 512, "relative_attention": true, "position_buckets": 256,
        "max_relative_positions": -1, "norm_rel_ebd": "layer_norm", "share_att_key": true,
        "pos_att_type": ["c2p", "p2c"], "position_biased_input": false, "type_vocab_size": 0,
        "conv_kernel_size": 3, "conv_act": "gelu"
        """

    static func decode(_ body: String) throws -> DebertaV2Configuration {
        try JSONDecoder().decode(DebertaV2Configuration.self, from: Data("{\(body)}".utf8))
    }

    static func problems(_ body: String) -> String? {
        do {
            try decode(body).validate()
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("the RexUniNLU config validates: raw distances, span 256, conv k=3")
    func rexConfig() throws {
        let c = try Self.decode(Self.rexKeys)
        try c.validate()
        #expect(c.relativePositionMode == .raw)
        #expect(c.attentionSpan == 256)
        #expect(c.convolutionKernelSize == 3)
    }

    @Test("both position paths and the span follow the upstream rules")
    func positionPaths() throws {
        let bucketed = try Self.decode(Self.rexKeys.replacingOccurrences(of: "\"max_relative_positions\": -1", with: "\"max_relative_positions\": 512"))
        #expect(bucketed.relativePositionMode == .logBuckets(buckets: 256, maxPosition: 512))
        #expect(bucketed.attentionSpan == 256)
        let noBuckets = try Self.decode(Self.rexKeys.replacingOccurrences(of: "\"position_buckets\": 256", with: "\"position_buckets\": -1")
            .replacingOccurrences(of: "\"max_relative_positions\": -1", with: "\"max_relative_positions\": 128"))
        #expect(noBuckets.relativePositionMode == .raw)
        #expect(noBuckets.attentionSpan == 128)
        let neither = try Self.decode(Self.rexKeys.replacingOccurrences(of: "\"position_buckets\": 256", with: "\"position_buckets\": 0"))
        #expect(neither.relativePositionMode == .raw)
        #expect(neither.attentionSpan == 512)  // max_position_embeddings
    }

    @Test("a pos_att_type string \"c2p|p2c\" is accepted as HF splits it")
    func positionTypesString() throws {
        let c = try Self.decode(Self.rexKeys.replacingOccurrences(of: "[\"c2p\", \"p2c\"]", with: "\"p2c|c2p\""))
        try c.validate()
    }

    @Test("unsupported or missing keys are refused, naming the key", arguments: [
        ("\"relative_attention\": true", "\"relative_attention\": false", "relative_attention"),
        ("\"relative_attention\": true,", "", "relative_attention"),
        ("\"share_att_key\": true", "\"share_att_key\": false", "share_att_key"),
        ("\"share_att_key\": true,", "", "share_att_key"),
        ("[\"c2p\", \"p2c\"]", "[\"c2p\"]", "pos_att_type"),
        ("\"norm_rel_ebd\": \"layer_norm\"", "\"norm_rel_ebd\": \"none\"", "norm_rel_ebd"),
        ("\"position_biased_input\": false", "\"position_biased_input\": true", "position_biased_input"),
        ("\"position_biased_input\": false,", "", "position_biased_input"),
        ("\"type_vocab_size\": 0", "\"type_vocab_size\": 2", "type_vocab_size"),
        ("\"conv_act\": \"gelu\"", "\"conv_act\": \"tanh\"", "conv_act"),
        (", \"conv_act\": \"gelu\"", "", "conv_act"),
        ("\"conv_kernel_size\": 3", "\"conv_kernel_size\": 4", "conv_kernel_size"),
        ("\"hidden_act\": \"gelu\"", "\"hidden_act\": \"relu\"", "hidden_act"),
        ("\"conv_act\": \"gelu\"", "\"conv_act\": \"gelu\", \"conv_groups\": 2", "conv_groups"),
        ("\"conv_act\": \"gelu\"", "\"conv_act\": \"gelu\", \"embedding_size\": 16", "embedding_size"),
    ])
    func refused(_ change: (String, String, String)) {
        let body = Self.rexKeys.replacingOccurrences(of: change.0, with: change.1)
        #expect(body != Self.rexKeys, "the edit \(change.0) must apply")
        let message = Self.problems(body)
        #expect(message?.contains(change.2) == true, "expected a problem naming \(change.2), got \(message ?? "none")")
    }
}
