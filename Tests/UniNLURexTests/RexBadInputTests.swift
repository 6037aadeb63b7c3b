import Foundation
import Testing
import UniNLUCore
import UniNLUEngine
@testable import UniNLUPipelines

// Input upstream handles badly, and what UniNLU does with it (docs/rex-uninlu.md): upstream behaviour
// by default where it is merely odd, an error where upstream crashes or silently drops input, and a
// fixed behaviour behind an option where upstream's answer is plainly wrong.

@Suite("RexUniNLU bad input", .serialized)
struct RexBadInputTests {
    static let model: LoadedModel? = try? LoadedModel.load(modelDirectory: RexFixtures.modelURL, backend: .cpu)
    static let sentiment = Schema(labels: ["正向情感", "负向情感"])

    func pipeline() throws -> RexUniNLUPipeline { try #require(Self.model?.rexUniNLU) }

    @Test("[CLASSIFY] not first: the blank fallback answers [] as upstream; fixBlankFallbackMarker scores the marker")
    func markerNotFirst() async throws {
        let text = "这部电影的剧情太拖沓了，看得我想睡觉。[CLASSIFY]"
        let upstream = try await pipeline().predictWithWarnings(text: text, schema: Self.sentiment)
        #expect(upstream.result.paths.isEmpty)
        #expect(upstream.warnings.contains { $0.contains("not at the start") }, "a warning says why: \(upstream.warnings)")
        var options = RexUniNLUOptions()
        options.fixBlankFallbackMarker = true
        let fixed = try await pipeline().predict(text: text, schema: Self.sentiment, options: options)
        #expect(fixed.paths.count == 1)
        #expect(fixed.paths.first?.first?.span == "[CLASSIFY]")
        #expect(fixed.paths.first?.first.map { Self.sentiment.labels.contains($0.type) } == true)
    }

    @Test("both classification markers in one text are refused (upstream crashes with a KeyError)")
    func bothMarkers() async throws {
        await #expect(throws: RexInputError.bothClassificationMarkers) {
            try await pipeline().predict(text: "[CLASSIFY][MULTICLASSIFY]好", schema: Self.sentiment)
        }
    }

    @Test("a label over 125 tokens is refused by default, naming it; .skip drops it as upstream and warns")
    func overlongLabel() async throws {
        let long = String(repeating: "长", count: 130)
        let schema = Schema(labels: ["人物", long])
        await #expect(throws: RexInputError.self) {
            try await pipeline().predict(text: "张三在北京。", schema: schema)
        }
        do {
            _ = try await pipeline().predict(text: "张三在北京。", schema: schema)
        } catch {
            #expect("\(error)".contains("长长长"), "the message names the label: \(error)")
        }
        var options = RexUniNLUOptions()
        options.overlongLabels = .skip
        let skipped = try await pipeline().predictWithWarnings(text: "张三在北京。", schema: schema, options: options)
        #expect(skipped.warnings.count == 1)
        let alone = try await pipeline().predict(text: "张三在北京。", schema: Schema(labels: ["人物"]))
        #expect(skipped.result == alone)
    }

    @Test("a level needing more than 256 prompt tokens is split into several prompts; no label is dropped")
    func promptOverflowSplits() throws {
        let pipeline = try pipeline()
        let labels = (0..<90).map { "很长的类别名称第\($0)号" }
        var level = RexLevel()
        level.insert([], schema: Schema(labels: labels))
        level.insert([RexPrefixItem(type: "人物", span: "张三", start: 0, end: 2)], schema: Schema(labels: labels))
        var warnings: [String] = []
        let prompts = RexPromptPacker(tokenizer: pipeline.tokenizer, options: RexUniNLUOptions()).pack(level, warnings: &warnings)
        #expect(warnings.isEmpty)
        #expect(prompts.count > 2)
        var seen: [String] = []
        for prompt in prompts {
            // Each prompt fits the 512-token window with room for text, and stays near the 256 budget.
            #expect(pipeline.tokenizer.encode(prompt.text).count - 2 <= 256)
            seen += prompt.types.map { "\($0.entry)/\($0.label)" }
        }
        let expected = (0..<2).flatMap { e in labels.sorted(by: codePointPrecedes).map { "\(e)/\($0)" } }
        #expect(seen == expected, "every (prefix, label) once, in order")
    }

    @Test("a literal [PREFIX] in the text is refused (upstream crashes); fixMarkersInText treats it as text")
    func prefixMarkerInText() async throws {
        let schema = Schema(labels: ["人物"])
        await #expect(throws: RexInputError.prefixMarkerInText) {
            try await pipeline().predict(text: "张三[PREFIX]在北京", schema: schema)
        }
        var options = RexUniNLUOptions()
        options.fixMarkersInText = true
        _ = try await pipeline().predict(text: "张三[PREFIX]在北京", schema: schema, options: options)
    }

    @Test("fixMarkersInText gives a literal [TYPE] in the text ordinary text positions")
    func typeMarkerInText() async throws {
        let base = try pipeline()
        let recorder = RecordingRexForward(base.forward)
        let recording = RexUniNLUPipeline(tokenizer: base.tokenizer, forward: recorder)
        var options = RexUniNLUOptions()
        options.fixMarkersInText = true
        _ = try await recording.predict(text: "张三[TYPE]在北京工作。", schema: Schema(labels: ["人物", "地理位置"]), options: options)
        let job = try #require(recorder.calls.first?.job)
        let sep = try #require(job.ids.firstIndex(of: base.tokenizer.sepID))
        let text = Array(job.positions[sep...])
        #expect(text == Array(text[0]..<(text[0] + Int32(text.count))), "text positions run on: \(text)")
    }

    @Test("labels containing prompt markers are refused")
    func markerInLabel() async throws {
        await #expect(throws: RexInputError.self) {
            try await pipeline().predict(text: "张三", schema: Schema(labels: ["人[TYPE]物"]))
        }
    }

    @Test("includeScores adds a score to extracted spans and keeps classification confidence")
    func scores() async throws {
        var options = RexUniNLUOptions()
        options.includeScores = true
        let text = "北大西洋议会春季会议26日在西班牙巴塞罗那闭幕。"
        let schema = Schema(labels: ["人物", "地理位置", "组织机构"])
        let plain = try await pipeline().predict(text: text, schema: schema)
        let scored = try await pipeline().predict(text: text, schema: schema, options: options)
        #expect(!scored.paths.isEmpty)
        #expect(scored.paths.count == plain.paths.count)
        for (a, b) in zip(scored.paths, plain.paths) {
            #expect(a.map(\.offset) == b.map(\.offset))
            let score = a.last?.extras.first { $0.key == "score" }?.value.doubleValue
            #expect(score.map { $0 > 0 && $0 <= 1 } == true)
        }
        let cls = try await pipeline().predict(text: "[CLASSIFY]今天的天气不错。", schema: Self.sentiment, options: options)
        #expect(cls.paths.first?.first?.extras.contains { $0.key == "confidence" } == true)
    }

    @Test("fixClassificationWindows runs every window of a long [CLASSIFY] text without rewriting it")
    func classificationWindowsFix() async throws {
        let fixture = try #require(RexFixtures.fixture("rex_cls_long_three_windows"))
        let text = try #require(fixture["text"]?.stringValue)
        var options = RexUniNLUOptions()
        options.fixClassificationWindows = true
        let result = try await pipeline().predict(text: text, schema: Self.sentiment, options: options)
        #expect(result.paths.count == 1)
        #expect(result.paths.first?.first?.offset == [0, 10])
    }
}
