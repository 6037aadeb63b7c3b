import Foundation
import Testing
import UniNLUCore
import UniNLUEngine
import UniNLUPipelines

// Pipeline parity with the ORIGINAL upstream RexUniNLU code on a tiny random-weight model
// (Tests/Fixtures/rex_uninlu): identical output JSON for every public case, and for every model call
// the same input ids, position ids and 2-D mask, and Z within 1e-4 where recorded.

@Suite("RexUniNLU upstream parity", .serialized)
struct RexPipelineParityTests {
    static let model: LoadedModel? = try? LoadedModel.load(modelDirectory: RexFixtures.modelURL, backend: .cpu)

    /// The one public case whose upstream behaviour we refuse by default: a label over 125 tokens is
    /// silently dropped upstream; we reject it unless asked to skip it (see RexBadInputTests).
    static func options(for id: String) -> RexUniNLUOptions {
        var options = RexUniNLUOptions()
        if id == "rex_long_label_skipped" { options.overlongLabels = .skip }
        return options
    }

    @Test("the fixture file has all 32 public cases and the model loads as RexUniNLU")
    func fixtureIsComplete() throws {
        #expect(RexFixtures.cases.count == 32)
        let model = try #require(Self.model)
        #expect(model.family == .rexUniNLU)
        #expect(model.rexUniNLU != nil)
    }

    @Test("output, model inputs and Z match upstream", arguments: RexFixtures.caseIDs)
    func caseMatchesUpstream(_ id: String) async throws {
        let fixture = try #require(RexFixtures.fixture(id))
        let pipeline = try #require(Self.model?.rexUniNLU)
        let recorder = RecordingRexForward(pipeline.forward)
        var limits = pipeline.limits
        // The 384-character label of rex_long_label_skipped is over the default --max-label-length.
        limits.maxLabelLength = 1000
        let recording = RexUniNLUPipeline(tokenizer: pipeline.tokenizer, forward: recorder, limits: limits)

        let text = try #require(fixture["text"]?.stringValue)
        let schema = try Schema(json: try #require(fixture["schema"]))
        let result = try await recording.predict(text: text, schema: schema, options: Self.options(for: id))
        let expected = try #require(fixture["output"])
        #expect(result.json == expected, "case \(id):\n ours:     \(result.json.serialized())\n upstream: \(expected.serialized())")

        let forwards = fixture["forwards"]?.arrayValue ?? []
        let calls = recorder.calls
        #expect(calls.count == forwards.count, "case \(id): \(calls.count) model calls, upstream made \(forwards.count)")
        for (index, (forward, call)) in zip(forwards, calls).enumerated() {
            let upstream = RexFixtures.job(forward)
            #expect(call.job.ids == upstream.ids, "case \(id) forward \(index): input ids differ")
            #expect(call.job.positions == upstream.positions, "case \(id) forward \(index): position ids differ\n ours:     \(call.job.positions)\n upstream: \(upstream.positions)")
            #expect(call.job.mask == upstream.mask, "case \(id) forward \(index): 2-D mask differs")
            let problems = ZComparison.problems(ours: call.z, recorded: forward)
            #expect(problems.isEmpty, "case \(id) forward \(index): \(problems.prefix(5).joined(separator: "; "))")
        }
    }
}

@Suite("RexUniNLU through LoadedModel")
struct RexLoadedModelTests {
    @Test("LoadedModel.predict dispatches a Rex model directory to the Rex pipeline (what `uninlu predict` calls)")
    func predictDispatches() async throws {
        let model = try LoadedModel.load(modelDirectory: RexFixtures.modelURL, backend: .cpu)
        let fixture = try #require(RexFixtures.fixture("rex_ner_card_example"))
        let result = try await model.predict(
            text: try #require(fixture["text"]?.stringValue), schema: try Schema(json: try #require(fixture["schema"])))
        #expect(result.json == fixture["output"])
    }

    @Test("--backend cuda without a usable GPU is refused for Rex with a clear message",
          .enabled(if: (try? Backend.cuda.resolved()) == nil, "this machine has a GPU: Rex runs on it (uninlu check covers that)"))
    func cudaRefused() {
        #expect(throws: (any Error).self) {
            try LoadedModel.load(modelDirectory: RexFixtures.modelURL, backend: .cuda)
        }
    }
}
