import Foundation
import Testing
import UniNLUCheckpoint
import UniNLUCore
import UniNLUCPU
import UniNLUModels

// Named intermediates (llama.cpp's `cb()` idea): when a logit disagrees, these show which stage
// diverged first. Upstream recorded the text embeddings and the lower-layer output of window 0
// for two cases (6 significant digits).

@Suite("SiameseUIE intermediates")
struct SiameseUIEIntermediateTests {
    @Test("embeddings and lower layers match upstream's hidden probes", arguments: ["sie_ner_seed_intent_slot", "sie_window_385_two_windows"])
    func hiddenProbes(_ id: String) throws {
        let cases = try #require(try Fixtures.json("siamese_uie/cases.json")["cases"]?.arrayValue)
        let fixture = try #require(cases.first { $0["id"]?.stringValue == id })
        let probe = try #require(fixture["hidden_probe"])
        let window = try #require(fixture["levels"]?.arrayValue?.first?["text_windows"]?.arrayValue?.first)
        let ids = window["ids"]?.int32Array ?? []
        let mask = window["attention_mask"]?.int32Array ?? []

        let directory = Fixtures.url("siamese_uie/model")
        let configuration = try JSONDecoder().decode(BertConfiguration.self, from: Data(contentsOf: directory.appendingPathComponent("config.json")))
        let model = try SiameseUIEModel(configuration: configuration, kernels: CPUKernels(), store: TensorStore(Checkpoint.open(modelDirectory: directory)))

        let embedded = try model.encoder.embed(ids: ids, positions: (0..<ids.count).map(Int32.init), tokenTypes: [Int32](repeating: 0, count: ids.count))
        try expectClose(try model.kernels.download(embedded), probe["text_embeddings_window0"], "\(id) embeddings")

        let lower = try model.encodeTexts([[SiameseTextWindow(ids: ids, attentionMask: mask)]])[0]
        try expectClose(try model.kernels.download(lower.hidden), probe["text_lower_layers_out_window0"], "\(id) lower layers")
    }

    private func expectClose(_ ours: [Float], _ expected: JSONValue?, _ what: String) throws {
        let rows = try #require(expected?.arrayValue)
        let flat = rows.flatMap { $0.doubleArray }
        #expect(ours.count == flat.count, "\(what): \(ours.count) values, upstream \(flat.count)")
        var worst = 0.0
        for (a, b) in zip(ours, flat) { worst = max(worst, abs(Double(a) - b) / max(1, abs(b))) }
        // 6 significant digits recorded: 1e-5 relative rounding plus float32 noise.
        #expect(worst <= 1e-4, "\(what): max relative difference \(worst)")
    }
}
