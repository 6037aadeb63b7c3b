import Foundation
import Testing
import UniNLUCore
import UniNLUEngine
import UniNLUPipelines

// Pipeline parity with the ORIGINAL upstream ModelScope SiameseUIE pipeline on a tiny random-weight
// model (Tests/Fixtures/siamese_uie): identical output JSON for every public case, and at every
// schema level the same windows, the same hint ids and head/tail logits within 1e-4.

@Suite("SiameseUIE upstream parity", .serialized)
struct SiameseUIEFixtureTests {
    static let cases: [JSONValue] = {
        (try? Fixtures.json("siamese_uie/cases.json"))?["cases"]?.arrayValue ?? []
    }()
    static let caseIDs: [String] = cases.compactMap { $0["id"]?.stringValue }

    static let model: LoadedModel? = try? LoadedModel.load(modelDirectory: Fixtures.url("siamese_uie/model"), backend: .cpu)

    @Test("the fixture file has all 30 public cases")
    func fixtureIsComplete() {
        #expect(Self.cases.count == 30)
        #expect(Self.model != nil)
    }

    @Test("output, windows, hints and logits match upstream", arguments: caseIDs)
    func caseMatchesUpstream(_ id: String) async throws {
        let fixture = try #require(Self.cases.first { $0["id"]?.stringValue == id })
        let model = try #require(Self.model)
        let pipeline = try #require(model.siameseUIE)
        let recorder = RecordingForward(pipeline.forward)
        let recording = SiameseUIEPipeline(tokenizer: pipeline.tokenizer, forward: recorder, limits: pipeline.limits)

        let text = try #require(fixture["text"]?.stringValue)
        let schema = try Schema(json: try #require(fixture["schema"]))
        let outputAllPrefix = fixture["call_kwargs"]?["output_all_prefix"]?.boolValue ?? false
        let result = try await recording.predict(text: text, schema: schema, options: SiameseUIEOptions(outputAllPrefix: outputAllPrefix))

        if fixture["error"] != nil {
            // Upstream raises IndexError on an empty schema; we document answering with no paths.
            #expect(result.paths.isEmpty, "case \(id)")
            return
        }
        let expected = try #require(fixture["output"])
        #expect(result.json == expected, "case \(id):\n ours:     \(result.json.serialized())\n upstream: \(expected.serialized())")

        let levels = fixture["levels"]?.arrayValue ?? []
        let calls = recorder.calls
        #expect(calls.count == levels.count, "case \(id): \(calls.count) schema levels run, upstream ran \(levels.count)")
        if let windows = recorder.windows.first, let level0 = levels.first {
            let expectedWindows = level0["text_windows"]?.arrayValue ?? []
            #expect(windows.map(\.ids) == expectedWindows.map { $0["ids"]?.int32Array ?? [] }, "case \(id): window ids")
            #expect(windows.map(\.attentionMask) == expectedWindows.map { $0["attention_mask"]?.int32Array ?? [] }, "case \(id): window masks")
        }
        for (index, (level, call)) in zip(levels, calls).enumerated() {
            let items = level["hint_batch"]?["items"]?.arrayValue ?? []
            let expectedHints = items.map { item -> [Int32] in
                let ids = item["ids"]?.int32Array ?? []
                let mask = item["attention_mask"]?.int32Array ?? []
                return zip(ids, mask).filter { $0.1 == 1 }.map(\.0)
            }
            #expect(call.hints == expectedHints, "case \(id) level \(index): hint ids")
            var worst = 0.0
            for entry in level["window_logits"]?.arrayValue ?? [] {
                guard let h = entry["hint_index"]?.intValue, let w = entry["window_index"]?.intValue,
                      h < call.logits.count, w < call.logits[h].count else {
                    Issue.record("case \(id) level \(index): missing logits for \(entry["hint_index"]?.intValue ?? -1)/\(entry["window_index"]?.intValue ?? -1)")
                    continue
                }
                for (ours, theirs) in [(call.logits[h][w].head, entry["head"]?.doubleArray ?? []),
                                       (call.logits[h][w].tail, entry["tail"]?.doubleArray ?? [])] {
                    #expect(ours.count == theirs.count, "case \(id) level \(index): logit count")
                    for (a, b) in zip(ours, theirs) {
                        worst = max(worst, abs(Double(a) - b) / max(1, abs(b)))
                    }
                }
            }
            #expect(worst <= 1e-4, "case \(id) level \(index): logits differ by \(worst) (relative)")
        }
    }
}
