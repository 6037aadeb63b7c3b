import Foundation
import Testing

// End-to-end tests of `uninlu predict` / `tokenize` / `doctor` through the real binary: outputs,
// and for every kind of bad input a clear message on stderr, a non-zero exit and no crash.

@Suite("uninlu CLI")
struct PredictCommandTests {
    let model = CLI.siameseModel

    @Test("predict with --labels prints the upstream output for the seed example")
    func predictLabels() throws {
        let r = try CLI.run(["predict", "--model", model, "--text", "帮我定一张明天去上海的机票", "--labels", "出发地,目的地,时间,订票意图"])
        #expect(r.status == 0, "\(r.stderr)")
        // Upstream output recorded in Tests/Fixtures/siamese_uie/cases.json (sie_ner_seed_intent_slot).
        #expect(r.stdout == """
            {"output": [[{"type": "出发地", "span": "明天去", "offset": [5, 8]}], [{"type": "时间", "span": "明天去上", "offset": [5, 9]}], [{"type": "订票意图", "span": "明天去上海的机", "offset": [5, 12]}]]}

            """)
    }

    @Test("predict with a nested --schema equals the same schema given as a JSON string")
    func predictSchemaForms() throws {
        let text = "马云在1999年于杭州创立了阿里巴巴集团，后来又成立了蚂蚁金服。"
        let schema = #"{"组织机构": {"创始人(人物)": null, "成立时间(时间)": null}}"#
        let a = try CLI.run(["predict", "--model", model, "--text", text, "--schema", schema])
        let escaped = String(decoding: try JSONSerialization.data(withJSONObject: [schema], options: []), as: UTF8.self).dropFirst().dropLast()
        let b = try CLI.run(["predict", "--model", model, "--text", text, "--schema", String(escaped)])
        #expect(a.status == 0 && b.status == 0, "\(a.stderr) \(b.stderr)")
        #expect(a.stdout == b.stdout)
        #expect(a.stdout.hasPrefix(#"{"output": "#))
    }

    @Test("--input: one output line per input line, in order, bad lines reported by number")
    func predictJSONLines() throws {
        let lines = [
            #"{"text": "张三和李四在杭州的阿里巴巴工作。", "schema": {"人物": null, "组织机构": null}}"#,
            #"{"text": "帮我定一张明天去上海的机票", "labels": ["出发地", "目的地"]}"#,
            #"{"text": 5, "schema": {"人物": null}}"#,
            #"{"text": "x", "schema": "#,
        ]
        var data = Data(lines.joined(separator: "\n").utf8)
        data.append(contentsOf: [0x0A] + Array(#"{"text": ""#.utf8) + [0xFF, 0xFE] + Array(#"", "schema": {"a": null}}"#.utf8))
        let file = try CLI.temporaryFile(data)
        defer { try? FileManager.default.removeItem(at: file) }
        let r = try CLI.run(["predict", "--model", model, "--input", file.path])
        #expect(r.status == 1)
        let out = r.stdout.split(separator: "\n").map(String.init)
        #expect(out.count == 5)
        #expect(out[0].hasPrefix(#"{"output": "#) && out[1].hasPrefix(#"{"output": "#))
        #expect(out[2].contains(#"\"text\" must be a string"#) && out[2].contains(#""line": 3"#))
        #expect(out[3].contains("invalid JSON") && out[3].contains(#""line": 4"#))
        #expect(out[4].contains("not valid UTF-8") && out[4].contains(#""line": 5"#))
        #expect(r.stderr.contains("line 5: not valid UTF-8"))
        // The same requests one by one give the same outputs.
        let single = try CLI.run(["predict", "--model", model, "--text", "帮我定一张明天去上海的机票", "--labels", "出发地,目的地"])
        #expect(single.stdout.trimmingCharacters(in: .newlines) == out[1])
    }

    @Test("an empty text gives the upstream result, an empty schema gives no paths")
    func emptyInputs() throws {
        let empty = try CLI.run(["predict", "--model", model, "--text", "", "--labels", "人物"])
        #expect(empty.status == 0, "\(empty.stderr)")
        #expect(empty.stdout.hasPrefix(#"{"output": "#))
        let noSchema = try CLI.run(["predict", "--model", model, "--text", "张三在北京工作。", "--schema", "{}"])
        #expect(noSchema.status == 0)
        #expect(noSchema.stdout == "{\"output\": []}\n")
    }

    static let manyLabels = (0..<3000).map { "标签\($0)" }.joined(separator: ",")
    static let longLabel = String(repeating: "长", count: 10_000)
    static let longText = String(repeating: "字", count: 20_001)

    @Test("bad input: clear message, non-zero exit, no crash", arguments: [
        (["--text", "x", "--schema", "{\"a\": "], "schema is not valid JSON"),
        (["--text", "x", "--schema", "[1, 2]"], "list containing number"),
        (["--text", "x", "--schema", "{\"a\": 3}"], "must be null (a leaf) or an object"),
        (["--text", "x", "--labels", "a,,b"], "empty label"),
        (["--text", "x"], "exactly one of --labels and --schema"),
        (["--labels", "a"], "give --text"),
        (["--text", "x", "--labels", PredictCommandTests.longLabel], "the limit is 256 (--max-label-length)"),
        (["--text", "x", "--labels", PredictCommandTests.manyLabels], "3000 labels; the limit is 256"),
        (["--text", PredictCommandTests.longText, "--labels", "a"], "text is 20001 characters; the limit is 20000"),
        (["--text", "x", "--labels", "a", "--max-text-length", "0"], "--max-text-length must be positive"),
    ] as [([String], String)])
    func badInput(arguments: [String], message: String) throws {
        let r = try CLI.run(["predict", "--model", model] + arguments)
        #expect(r.status != 0)
        #expect(r.status < 128, "terminated by a signal")
        #expect(r.stderr.contains(message), "stderr was: \(r.stderr)")
    }

    @Test("missing or broken model files are named in the error")
    func badModelDirectory() throws {
        let missing = try CLI.run(["predict", "--model", "/nonexistent/model", "--text", "x", "--labels", "a"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("/nonexistent/model does not exist"))

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("uninlu-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for file in ["config.json", "configuration.json", "vocab.txt", "tokenizer_config.json"] {
            try FileManager.default.copyItem(at: URL(fileURLWithPath: model).appendingPathComponent(file), to: dir.appendingPathComponent(file))
        }
        let noWeights = try CLI.run(["predict", "--model", dir.path, "--text", "x", "--labels", "a"])
        #expect(noWeights.status == 2)
        #expect(noWeights.stderr.contains("model.safetensors") && noWeights.stderr.contains("pytorch_model.bin"), "\(noWeights.stderr)")

        // A truncated checkpoint is a clear error too.
        let weights = try Data(contentsOf: URL(fileURLWithPath: model).appendingPathComponent("model.safetensors"))
        try weights.prefix(weights.count / 2).write(to: dir.appendingPathComponent("model.safetensors"))
        let truncated = try CLI.run(["predict", "--model", dir.path, "--text", "x", "--labels", "a"])
        #expect(truncated.status == 2)
        #expect(truncated.stderr.contains("model.safetensors"), "\(truncated.stderr)")

        try FileManager.default.removeItem(at: dir.appendingPathComponent("vocab.txt"))
        let noVocab = try CLI.run(["predict", "--model", dir.path, "--text", "x", "--labels", "a"])
        #expect(noVocab.status == 2)
        #expect(noVocab.stderr.contains("vocab.txt"))
    }

    @Test("Rex warnings go to stderr as \"warning: \" lines; stdout stays the upstream JSON")
    func rexWarningsOnStderr() throws {
        // Upstream case rex_long_label_skipped: a 384-character label is left out of the prompt.
        let data = try Data(contentsOf: CLI.fixtures.appendingPathComponent("rex_uninlu/cases.json"))
        let cases = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["cases"] as? [[String: Any]])
        let fixture = try #require(cases.first { $0["id"] as? String == "rex_long_label_skipped" })
        let text = try #require(fixture["text"] as? String)
        let long = try #require((fixture["schema"] as? [String: Any])?.keys.first { $0 != "人物" })
        let schema = #"{"\#(long)": null, "人物": null}"#  // upstream's key order
        let r = try CLI.run(["predict", "--model", CLI.rexModel, "--backend", "cpu", "--text", text, "--schema", schema,
                             "--skip-overlong-labels", "--max-label-length", "1000"])
        #expect(r.status == 0, "\(r.stderr)")
        let warnings = r.stderr.split(separator: "\n").filter { $0.hasPrefix("warning: ") }
        #expect(warnings.count == 1, "\(r.stderr)")
        #expect(warnings.first?.contains("was left out (as upstream)") == true, "\(r.stderr)")
        #expect(!r.stdout.contains("warning"))
        // stdout is upstream's output, and byte for byte what the schema without the long label prints.
        let printed = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? NSDictionary
        #expect(printed == fixture["output"] as? NSDictionary, "\(r.stdout)")
        let alone = try CLI.run(["predict", "--model", CLI.rexModel, "--backend", "cpu", "--text", text, "--labels", "人物"])
        #expect(alone.status == 0 && !alone.stderr.contains("warning: "), "\(alone.stderr)")
        #expect(r.stdout == alone.stdout)
    }

    @Test("tokenize shows ids, tokens and code-point offsets of [CLS] text [SEP]")
    func tokenize() throws {
        let r = try CLI.run(["tokenize", "--model", model, "--text", "𠮷野家Apple"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains(#""tokens": ["[CLS]""#))
        #expect(r.stdout.contains(#""offsets": [[0, 0], "#))
        let bad = try CLI.run(["tokenize", "--model", model])
        #expect(bad.status != 0)
    }

    @Test("doctor reports the CPU and the backends")
    func doctor() throws {
        let r = try CLI.run(["doctor", "--json"])
        #expect(r.status == 0)
        #expect(r.stdout.contains(#""worker_threads""#) && r.stdout.contains(#""name": "cpu""#))
    }
}
