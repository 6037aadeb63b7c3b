import Foundation
import UniNLUCore
import UniNLUCUDA
import UniNLUPipelines

// `uninlu check graphs`: replayed CUDA graphs compute what the same engine computes op by op.
// Every fixture case runs three times on one engine that captures a shape at its second call: the
// first call runs op by op (the reference: same kernels, same tuned GEMMs), the second captures and
// replays, the third replays with its inputs patched in. Then a pair of texts of one shape but
// other tokens: the second only replays the graph captured from the first, so its result proves
// that the inputs reach the graph (not the captured ones); and, per family, a pair of texts of other
// lengths within one length bucket, which share a graph the same way.

extension CUDACheck {
    public static func runGraphs(siameseFixtures: URL, rexFixtures: URL?, precision: ComputePrecision,
                                 log: (CUDACheckLine) -> Void) async throws -> [CUDACheckLine] {
        var lines: [CUDACheckLine] = []
        let policy = CUDAGraphPolicy(maxGraphs: 256, captureAfter: 1, maxTokens: 1 << 20)
        let tolerance = 0.0  // the same kernels with the same arguments and tuned GEMMs: bitwise equal
        func record(_ name: String, _ passed: Bool, _ detail: String) {
            let line = CUDACheckLine(group: "graphs", name: name, vars: precision.rawValue, passed: passed, detail: detail)
            log(line)
            lines.append(line)
        }
        /// Runs `call` three times; the replays must give the first run's values and output.
        func thrice(_ name: String, values: () -> [Float], reset: () -> Void, _ call: () async throws -> JSONValue) async {
            do {
                var outputs: [JSONValue] = [], runs: [[Float]] = []
                for _ in 0..<3 {
                    reset()
                    outputs.append(try await call())
                    runs.append(values())
                }
                let second = compare(runs[1], runs[0]), third = compare(runs[2], runs[0])
                let sameCount = runs[1].count == runs[0].count && runs[2].count == runs[0].count
                let passed = sameCount && second.maxAbs <= tolerance && third.maxAbs <= tolerance && outputs[1] == outputs[0] && outputs[2] == outputs[0]
                record(name, passed, String(format: "capture+replay vs op by op: max_abs %.3e; patched replay: max_abs %.3e over %d values%@",
                                            second.maxAbs, third.maxAbs, runs[0].count, outputs.allSatisfy { $0 == outputs[0] } ? "" : "; decoded outputs differ"))
            } catch {
                record(name, false, "error: \(error)")
            }
        }

        /// Two texts of one shape (one token per character), other characters: the second text runs op
        /// by op first (the reference), the first is then captured and replayed, and the second run
        /// again only replays the first's graphs with its own tokens.
        func sameShapeOtherTokens(_ family: String, model: LoadedModel, minimumReplays: Int, values: () -> [Float], reset: () -> Void,
                                  texts: (first: String, second: String) = ("张三明天从北京出发去上海", "李四后天从广州出发去深圳"),
                                  name: String? = nil, _ predict: (String, Schema) async throws -> JSONValue) async {
            let name = name ?? "\(family) same shape, other tokens"
            do {
                let schema = try Schema(json: .object([("人物", .null), ("地点", .null)]))
                let (first, second) = texts
                reset()
                let reference = try await predict(second, schema)
                let referenceValues = values()
                _ = try await predict(first, schema)
                reset()
                let before = try await model.cudaGraphCounters()
                let replayed = try await predict(second, schema)
                let after = try await model.cudaGraphCounters()
                let diff = compare(values(), referenceValues)
                let replays = (after?.replays ?? 0) - (before?.replays ?? 0)
                record(name, replays >= minimumReplays && diff.maxAbs <= tolerance && replayed == reference,
                       String(format: "%d replays; max_abs %.3e against the op-by-op run of the same text", replays, diff.maxAbs))
            } catch {
                record(name, false, "error: \(error)")
            }
        }

        // SiameseUIE.
        let siameseData = try Data(contentsOf: siameseFixtures.appendingPathComponent("cases.json"))
        let siameseCases = try JSONParser.parse(bytes: Array(siameseData), maxDepth: 256)["cases"]?.arrayValue ?? []
        let siameseModel = try LoadedModel.load(modelDirectory: siameseFixtures.appendingPathComponent("model"), backend: .cuda,
                                                precision: precision, graphPolicy: policy)
        guard let siamese = siameseModel.siameseUIE else { throw EngineError.familyNotImplemented(siameseModel.family) }
        let capture = CapturingForward(siamese.forward)
        let run = SiameseUIEPipeline(tokenizer: siamese.tokenizer, forward: capture, limits: siamese.limits)
        for fixture in siameseCases where fixture["error"] == nil {
            let text = fixture["text"]?.stringValue ?? ""
            guard let schema = try? Schema(json: fixture["schema"] ?? .null) else { continue }
            let options = SiameseUIEOptions(outputAllPrefix: fixture["call_kwargs"]?["output_all_prefix"]?.boolValue ?? false)
            await thrice("siamese \(fixture["id"]?.stringValue ?? "?")", values: { capture.values }, reset: { capture.reset() }) {
                try await run.predict(text: text, schema: schema, options: options).json
            }
        }
        await sameShapeOtherTokens("siamese", model: siameseModel, minimumReplays: 2, values: { capture.values }, reset: { capture.reset() }) {
            try await run.predict(text: $0, schema: $1).json
        }
        // Texts of 14 and 16 tokens: one shape under the length bucket (8), so the second replays the
        // first's graphs with its own, longer, tokens.
        await sameShapeOtherTokens("siamese", model: siameseModel, minimumReplays: 2, values: { capture.values }, reset: { capture.reset() },
                                   texts: ("张三明天从北京出发去上海", "李四后天从广州出发去深圳了吗"), name: "siamese other lengths, one length bucket") {
            try await run.predict(text: $0, schema: $1).json
        }
        if let counters = try await siameseModel.cudaGraphCounters() {
            record("siamese counters", counters.mismatches == 0 && counters.captureFailures == 0 && counters.replays > 0, describe(counters))
        }

        // RexUniNLU.
        guard let rexFixtures, FileManager.default.fileExists(atPath: rexFixtures.appendingPathComponent("cases.json").path) else { return lines }
        let rexData = try Data(contentsOf: rexFixtures.appendingPathComponent("cases.json"))
        let rexCases = try JSONParser.parse(bytes: Array(rexData), maxDepth: 256)["cases"]?.arrayValue ?? []
        let rexModel = try LoadedModel.load(modelDirectory: rexFixtures.appendingPathComponent("model"), backend: .cuda,
                                            precision: precision, graphPolicy: policy)
        guard let rex = rexModel.rexUniNLU else { throw EngineError.familyNotImplemented(rexModel.family) }
        var limits = rex.limits
        limits.maxLabelLength = 1000
        let rexCapture = CapturingRexForward(rex.forward)
        let rexRun = RexUniNLUPipeline(tokenizer: rex.tokenizer, forward: rexCapture, limits: limits)
        for fixture in rexCases {
            let id = fixture["id"]?.stringValue ?? "?"
            let text = fixture["text"]?.stringValue ?? ""
            guard let schema = try? Schema(json: fixture["schema"] ?? .null) else { continue }
            var options = RexUniNLUOptions()
            if id == "rex_long_label_skipped" { options.overlongLabels = .skip }
            await thrice("rex \(id)", values: { rexCapture.values }, reset: { rexCapture.reset() }) {
                try await rexRun.predict(text: text, schema: schema, options: options).json
            }
        }
        await sameShapeOtherTokens("rex", model: rexModel, minimumReplays: 1, values: { rexCapture.values }, reset: { rexCapture.reset() }) {
            try await rexRun.predict(text: $0, schema: $1).json
        }
        // Prompts of 22 and 24 tokens: one shape under the length bucket (8).
        await sameShapeOtherTokens("rex", model: rexModel, minimumReplays: 1, values: { rexCapture.values }, reset: { rexCapture.reset() },
                                   texts: ("张三明天从北京出发去上海", "李四后天从广州出发去深圳了吗"), name: "rex other lengths, one length bucket") {
            try await rexRun.predict(text: $0, schema: $1).json
        }
        if let counters = try await rexModel.cudaGraphCounters() {
            record("rex counters", counters.mismatches == 0 && counters.captureFailures == 0 && counters.replays > 0, describe(counters))
        }
        return lines
    }

    static func describe(_ counters: CUDAGraphCounters) -> String {
        "\(counters.captures) captures, \(counters.replays) replays, \(counters.eagerRuns) op-by-op forwards, \(counters.mismatches) mismatches, "
            + "\(counters.captureFailures) failed captures, \(counters.evictions) evictions; \(counters.graphs) graphs keep \(counters.deviceBytes >> 10) KiB"
    }
}
