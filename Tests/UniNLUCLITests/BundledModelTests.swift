import Foundation
import Testing

// The bundled model (Models/uninlu-siamese-zh-small, trained by scripts/train) through the real
// binary with `--model` left out, as README's run command uses it: its Q8_0 weights load, it
// answers README's example sensibly, and it scores a hand-written NER sample that appears in no
// training data (Tests/Fixtures/bundled_model/ner_sample.jsonl: 20 sentences, 44 entities).

@Suite("the bundled trained model", .serialized)
struct BundledModelTests {
    /// The environment with UNINLU_MODEL removed, so that the bundled model is the one found.
    static let defaultModel: [String: String?] = ["UNINLU_MODEL": nil]

    @Test("README's example: 上海 as 目的地 and 明天 as 时间, with --model left out")
    func readmeExample() throws {
        let r = try CLI.run(["predict", "--backend", "cpu", "--labels", "出发地,目的地,时间", "--text", "帮我定一张明天去上海的机票"],
                            environment: Self.defaultModel)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ==
            #"{"output": [[{"type": "目的地", "span": "上海", "offset": [8, 10]}], [{"type": "时间", "span": "明天", "offset": [5, 7]}]]}"#,
            "\(r.stdout)")
    }

    @Test("a hand-written NER sample: micro F1 at least 0.85 (0.93 with the committed model)")
    func handWrittenSample() throws {
        let data = CLI.fixtures.appendingPathComponent("bundled_model/ner_sample.jsonl").path
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("uninlu-bundled-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: report) }
        let r = try CLI.run(["validate", "--backend", "cpu", "--data", data, "--output", report.path, "--quiet"],
                            environment: Self.defaultModel)
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: report)) as? [String: Any]
        let overall = try #require(json?["overall"] as? [String: Any])
        let f1 = try #require(overall["f1"] as? Double)
        #expect(f1 >= 0.85, "F1 \(f1): \(r.stdout)")
        #expect((json?["model"] as? String)?.hasSuffix("Models/uninlu-siamese-zh-small") == true, "\(json?["model"] ?? "?")")
    }
}
