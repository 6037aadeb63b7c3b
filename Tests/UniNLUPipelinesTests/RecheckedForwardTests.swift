import Foundation
import Testing
import UniNLUCore
import UniNLUEngine
import UniNLUPipelines

// The FP16 re-check (RecheckedSiameseUIEForward): a fast engine whose logits carry FP16-like noise,
// checked against the clean FP32 engine. Without the re-check the noise flips decisions on the
// fixture cases; with it (margin = the noise bound) every output equals the clean engine's, and only
// the hints near the threshold were re-run. On the GPU the same wrapper pairs CUDA FP16 with FP32.

/// Adds deterministic noise in [-amplitude, amplitude] to every logit of `inner`, like FP16 would.
final class PerturbingForward: SiameseUIEForward, @unchecked Sendable {
    // @unchecked: immutable.
    let inner: any SiameseUIEForward
    let amplitude: Float
    init(_ inner: any SiameseUIEForward, amplitude: Float) {
        self.inner = inner
        self.amplitude = amplitude
    }

    func encodeTexts(_ texts: [[SiameseTextWindow]]) async throws -> [any SiameseTextCache] {
        try await inner.encodeTexts(texts)
    }

    func pointerLogits(_ jobs: [SiameseHintJob]) async throws -> [[[PointerLogits]]] {
        let clean = try await inner.pointerLogits(jobs)
        return zip(jobs, clean).map { job, perHint in
            zip(job.hints, perHint).map { hint, perWindow in
                let seed = hint.reduce(Float(0)) { $0 + Float($1) }
                return perWindow.enumerated().map { w, logits in
                    PointerLogits(head: noisy(logits.head, seed: seed + Float(w) * 7), tail: noisy(logits.tail, seed: seed + Float(w) * 7 + 3))
                }
            }
        }
    }

    private func noisy(_ values: [Float], seed: Float) -> [Float] {
        values.enumerated().map { i, v in
            let x = sin(Float(i) * 12.9898 + seed * 78.233) * 43758.5453
            return v + amplitude * (2 * (x - x.rounded(.down)) - 1)
        }
    }
}

@Suite("FP16 re-check of decisions near the threshold", .serialized)
struct RecheckedForwardTests {
    static let cases = SiameseUIEFixtureTests.cases.filter { $0["error"] == nil }

    func outputs(_ forward: any SiameseUIEForward, _ pipeline: SiameseUIEPipeline) async throws -> [JSONValue] {
        let run = SiameseUIEPipeline(tokenizer: pipeline.tokenizer, forward: forward, limits: pipeline.limits)
        var result: [JSONValue] = []
        for fixture in Self.cases {
            let text = try #require(fixture["text"]?.stringValue)
            let schema = try Schema(json: try #require(fixture["schema"]))
            let outputAllPrefix = fixture["call_kwargs"]?["output_all_prefix"]?.boolValue ?? false
            result.append(try await run.predict(text: text, schema: schema, options: SiameseUIEOptions(outputAllPrefix: outputAllPrefix)).json)
        }
        return result
    }

    @Test("noise flips decisions; the re-check restores every clean output and re-runs only hints near 0.5")
    func recheckRestoresCleanDecisions() async throws {
        let pipeline = try #require(SiameseUIEFixtureTests.model?.siameseUIE)
        let clean = pipeline.forward
        let noisy = PerturbingForward(clean, amplitude: 0.05)
        let rechecked = RecheckedSiameseUIEForward(fast: noisy, reference: clean, threshold: 0.5, margin: 0.05)

        let reference = try await outputs(clean, pipeline)
        let perturbed = try await outputs(noisy, pipeline)
        let fixed = try await outputs(rechecked, pipeline)

        let flipped = zip(reference, perturbed).filter { $0 != $1 }.count
        #expect(flipped > 0, "the noise must flip something, or this test proves nothing")
        for (index, (a, b)) in zip(reference, fixed).enumerated() {
            #expect(a == b, "case \(Self.cases[index]["id"]?.stringValue ?? "?"):\n clean:     \(a.serialized())\n rechecked: \(b.serialized())")
        }
        let counters = rechecked.counters
        #expect(counters.rechecked > 0 && counters.rechecked < counters.hints,
                "\(counters.rechecked) of \(counters.hints) hints re-run")
        print("re-check: \(flipped) of \(Self.cases.count) cases flipped by the noise; \(counters.rechecked) of \(counters.hints) hints re-run")
    }

    @Test("margin 0 re-runs nothing that is not exactly at the threshold")
    func zeroMargin() async throws {
        let pipeline = try #require(SiameseUIEFixtureTests.model?.siameseUIE)
        let rechecked = RecheckedSiameseUIEForward(fast: pipeline.forward, reference: pipeline.forward, threshold: 0.5, margin: 0)
        let plain = try await outputs(pipeline.forward, pipeline)
        #expect(try await outputs(rechecked, pipeline) == plain)
        #expect(rechecked.counters.rechecked == 0 && rechecked.counters.hints > 0)
        // What validate and bench report.
        let report = rechecked.counters.json(margin: 0)
        #expect(report["rechecked"] == .number(0) && report["hints"] == .number(Double(rechecked.counters.hints)))
        #expect(report["margin"] == .number(0))
    }

    @Test("refused where it does not apply, with a message that says why", arguments: [
        ("cpu", "siamese_uie/model", Float(0.1), "the CPU backend runs FP32 already"),
        ("cpu", "rex_uninlu/model", Float(0.1), "RexUniNLU"),
        ("cpu", "siamese_uie/model", Float(-1), "≥ 0"),
    ])
    func refused(backend: String, model: String, margin: Float, message: String) throws {
        do {
            _ = try LoadedModel.load(modelDirectory: Fixtures.url(model), backend: .cpu, fp16RecheckMargin: margin)
            Issue.record("loaded with --fp16-recheck-margin \(margin) on \(backend)")
        } catch let error as EngineError {
            #expect(error.description.hasPrefix("--fp16-recheck-margin: "), "\(error)")
            #expect(error.description.contains(message), "\(error)")
        }
    }
}
