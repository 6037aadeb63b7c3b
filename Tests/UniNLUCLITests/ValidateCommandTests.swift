import Foundation
import Testing

// `uninlu validate` through the real binary, on JSON Lines made from the SiameseUIE fixture cases
// with their own upstream outputs as gold; and the default model (--model left out).

@Suite("uninlu validate and the default model")
struct ValidateCommandTests {
    let model = CLI.siameseModel

    /// The fixture cases that the default options reproduce, as {"text", "schema", "output"}.
    static var records: [[String: Any]] {
        guard let data = try? Data(contentsOf: CLI.fixtures.appendingPathComponent("siamese_uie/cases.json")),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let cases = root["cases"] as? [[String: Any]] else { return [] }
        return cases.compactMap { item in
            if item["error"] != nil { return nil }
            if let kwargs = item["call_kwargs"] as? [String: Any], kwargs["output_all_prefix"] as? Bool == true { return nil }
            guard let text = item["text"], let schema = item["schema"],
                  let output = (item["output"] as? [String: Any])?["output"] else { return nil }
            return ["text": text, "schema": schema, "output": output]
        }
    }

    static func jsonLines(_ records: [[String: Any]]) throws -> Data {
        var data = Data()
        for record in records {
            data.append(try JSONSerialization.data(withJSONObject: record))
            data.append(0x0A)
        }
        return data
    }

    /// Runs validate with a JSON report and returns the result and the parsed report.
    func validate(_ data: Data, _ extra: [String] = []) throws -> (CLIResult, [String: Any]?) {
        let input = try CLI.temporaryFile(data)
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("uninlu-report-\(UUID().uuidString).json")
        defer {
            try? FileManager.default.removeItem(at: input)
            try? FileManager.default.removeItem(at: report)
        }
        let result = try CLI.run(["validate", "--model", model, "--backend", "cpu", "--data", input.path, "--output", report.path, "--quiet"] + extra)
        let parsed = (try? Data(contentsOf: report)).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
        return (result, parsed)
    }

    @Test("the fixture cases scored against their own upstream outputs give F1 = 1 exactly")
    func perfectScore() throws {
        #expect(Self.records.count == 28)
        let (r, report) = try validate(try Self.jsonLines(Self.records), ["--per-type"])
        #expect(r.status == 0, "\(r.stderr)")
        let overall = try #require(report?["overall"] as? [String: Any])
        #expect(overall["f1"] as? Double == 1.0 && overall["precision"] as? Double == 1.0 && overall["recall"] as? Double == 1.0)
        #expect(overall["fp"] as? Int == 0 && overall["fn"] as? Int == 0)
        #expect((report?["counts"] as? [String: Any])?["records"] as? Int == 28)
        #expect(report?["backend"] as? String == "cpu" && report?["precision"] as? String == "fp32")
        #expect((report?["per_type"] as? [String: Any])?["出发地"] != nil)
        #expect(r.stdout.contains("28 records scored"))
        #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix("overall (micro)") && $0.hasSuffix("1.0000  1.0000  1.0000") }, "\(r.stdout)")
        #expect(r.stdout.contains("出发地"), "--per-type prints a row per type")
        #expect(r.stderr.isEmpty, "--quiet: \(r.stderr)")
    }

    @Test("one gold path dropped and one added: exactly (G-1)/G precision, recall and F1")
    func perturbedGold() throws {
        var records = Array(Self.records.prefix(4))
        var first = try #require(records[0]["output"] as? [Any])
        let gold = records.reduce(0) { $0 + (($1["output"] as? [Any])?.count ?? 0) }
        first.removeFirst()
        records[0]["output"] = first
        var second = try #require(records[1]["output"] as? [Any])
        second.append([["type": "未预测类型", "span": "x", "offset": [0, 1]]])
        records[1]["output"] = second

        let (r, report) = try validate(try Self.jsonLines(records))
        #expect(r.status == 0, "\(r.stderr)")
        let overall = try #require(report?["overall"] as? [String: Any])
        #expect(overall["tp"] as? Int == gold - 1 && overall["fp"] as? Int == 1 && overall["fn"] as? Int == 1)
        let expected = Double(gold - 1) / Double(gold)
        #expect(overall["precision"] as? Double == expected)
        #expect(overall["recall"] as? Double == expected)
        #expect(abs((overall["f1"] as? Double ?? 0) - expected) < 1e-12)
        let added = try #require((report?["per_type"] as? [String: Any])?["未预测类型"] as? [String: Any])
        #expect(added["gold"] as? Int == 1 && added["fn"] as? Int == 1 && added["f1"] as? Double == 0)
    }

    @Test("--against cpu:fp32 on the CPU: both scores, zero flips")
    func againstSameConfiguration() throws {
        let (r, report) = try validate(try Self.jsonLines(Array(Self.records.prefix(6))), ["--against", "cpu:fp32"])
        #expect(r.status == 0, "\(r.stderr)")
        let flips = try #require(report?["flips"] as? [String: Any])
        #expect(flips["only_primary"] as? Int == 0 && flips["only_against"] as? Int == 0 && flips["records_differing"] as? Int == 0)
        #expect((flips["examples"] as? [Any])?.isEmpty == true)
        let against = try #require(report?["against"] as? [String: Any])
        #expect(against["backend"] as? String == "cpu" && against["precision"] as? String == "fp32")
        #expect((against["overall"] as? [String: Any])?["f1"] as? Double == 1.0)
        #expect(r.stdout.contains("0 of 6 records differ"))
    }

    @Test("a RexUniNLU model is scored the same way")
    func rexModel() throws {
        let data = try Data(contentsOf: CLI.fixtures.appendingPathComponent("rex_uninlu/cases.json"))
        let cases = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["cases"] as? [[String: Any]])
        let records = cases.prefix(2).map { ["text": $0["text"]!, "schema": $0["schema"]!, "output": $0["output"]!] }
        let input = try CLI.temporaryFile(try Self.jsonLines(Array(records)))
        defer { try? FileManager.default.removeItem(at: input) }
        let r = try CLI.run(["validate", "--model", CLI.fixtures.appendingPathComponent("rex_uninlu/model").path, "--backend", "cpu",
                             "--data", input.path, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("(rex-uninlu)") && r.stdout.contains("2 records scored"), "\(r.stdout)")
        #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix("overall (micro)") && $0.hasSuffix("1.0000  1.0000  1.0000") }, "\(r.stdout)")
    }

    @Test("bad data: the line is named, the exit is non-zero", arguments: [
        ("{\"text\": \"a\", \"labels\": [\"x\"], \"output\": []}\n{\"text\": \n", "line 2: invalid JSON"),
        ("{\"text\": \"a\", \"labels\": [\"x\"]}\n", "line 1: missing the gold answer \"output\""),
        ("{\"text\": \"a\", \"labels\": [\"x\"], \"output\": [[{\"type\": \"x\"}]]}\n", "line 1: \"output\"[0]: each element needs an \"offset\""),
        ("\n  \n", "holds no records"),
    ])
    func badData(contents: String, message: String) throws {
        let (r, _) = try validate(Data(contents.utf8))
        #expect(r.status == 2)
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }

    @Test("--skip-invalid counts and skips bad lines")
    func skipInvalid() throws {
        var data = try Self.jsonLines(Array(Self.records.prefix(2)))
        data.append(Data("{\"text\": \"a\"}\nnot json\n".utf8))
        let (r, report) = try validate(data, ["--skip-invalid"])
        #expect(r.status == 0, "\(r.stderr)")
        let counts = try #require(report?["counts"] as? [String: Any])
        #expect(counts["records"] as? Int == 2 && counts["skipped"] as? Int == 2)
        #expect(((report?["skipped"] as? [[String: Any]])?.map { $0["line"] as? Int }) == [3, 4])
    }

    @Test("--against must be BACKEND:PRECISION, and the CPU computes in fp32 only")
    func badAgainst() throws {
        let data = try Self.jsonLines(Array(Self.records.prefix(1)))
        let (format, _) = try validate(data, ["--against", "gpu"])
        #expect(format.status == 64 && format.stderr.contains("--against takes BACKEND:PRECISION"), "\(format.stderr)")
        let (cpu16, _) = try validate(data, ["--against", "cpu:fp16"])
        #expect(cpu16.status == 2 && cpu16.stderr.contains("the CPU backend computes in fp32 only"), "\(cpu16.stderr)")
    }

    @Test("no --model: UNINLU_MODEL pointing at the fixture model is used")
    func defaultModelFromEnvironment() throws {
        let arguments = ["predict", "--text", "帮我定一张明天去上海的机票", "--labels", "出发地,目的地,时间"]
        let explicit = try CLI.run(arguments + ["--model", model])
        let implicit = try CLI.run(arguments, environment: ["UNINLU_MODEL": model])
        #expect(implicit.status == 0, "\(implicit.stderr)")
        #expect(implicit.stdout == explicit.stdout && implicit.stdout.hasPrefix(#"{"output": "#))
        let tokens = try CLI.run(["tokenize", "--text", "上海"], environment: ["UNINLU_MODEL": model])
        #expect(tokens.status == 0 && tokens.stdout.contains(#""tokens": ["[CLS]", "上", "海", "[SEP]"]"#), "\(tokens.stdout)\(tokens.stderr)")
    }

    @Test("no --model and UNINLU_MODEL missing: a clear error that says what to do")
    func defaultModelMissing() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-model-\(UUID().uuidString)").path
        for command in [["predict", "--text", "x", "--labels", "a"], ["validate", "--data", "/dev/null"], ["tokenize", "--text", "x"]] {
            let r = try CLI.run(command, environment: ["UNINLU_MODEL": missing])
            #expect(r.status == 2, "\(command[0]): \(r.stderr)")
            #expect(r.stderr.contains("UNINLU_MODEL=\(missing) does not exist") && r.stderr.contains("Pass --model DIR"), "\(command[0]): \(r.stderr)")
        }
    }
}
