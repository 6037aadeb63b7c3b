import Foundation
import Testing
import UniNLUCore
import UniNLUEngine
import UniNLUPipelines
@testable import UniNLUServer

// RexUniNLU behind the batch scheduler: the token-pair jobs of concurrent requests share forwards,
// and every request's output is the same as alone.

/// Counts engine calls; while held, calls wait (so that concurrent requests queue up behind one).
final class CountingRexEngine: RexUniNLUForward, @unchecked Sendable {
    // @unchecked: the mutable fields are only touched under `lock`.
    private let lock = NSLock()
    private let inner: any RexUniNLUForward
    private var calls: [Int] = []
    private var holding = true
    private var held: [CheckedContinuation<Void, Never>] = []

    init(_ inner: any RexUniNLUForward) { self.inner = inner }

    /// Jobs per engine call, in call order.
    var jobsPerCall: [Int] { lock.withLock { calls } }

    func release() {
        let waiters = lock.withLock {
            holding = false
            defer { held = [] }
            return held
        }
        for waiter in waiters { waiter.resume() }
    }

    func tokenPairLogits(_ jobs: [RexForwardJob]) async throws -> [RexTokenPairLogits] {
        let mustWait = lock.withLock {
            calls.append(jobs.count)
            return holding
        }
        if mustWait {
            await withCheckedContinuation { continuation in
                let stillHolding = lock.withLock {
                    if holding { held.append(continuation) }
                    return holding
                }
                if !stillHolding { continuation.resume() }
            }
        }
        return try await inner.tokenPairLogits(jobs)
    }
}

extension ServerTests {
    @Suite("RexUniNLU cross-request batching")
    struct RexBatchingTests {
        static let modelDirectory = ServerFixtures.root.appendingPathComponent("rex_uninlu/model")

        /// Short upstream Rex cases (text and schema as the fixture gives them).
        static func cases() throws -> [(id: String, text: String, schema: Schema)] {
            let data = try Data(contentsOf: ServerFixtures.root.appendingPathComponent("rex_uninlu/cases.json"))
            let json = try JSONParser.parse(bytes: Array(data), maxDepth: 256)
            return try (json["cases"]?.arrayValue ?? []).compactMap { item in
                guard let id = item["id"]?.stringValue, let text = item["text"]?.stringValue, let schema = item["schema"],
                      text.unicodeScalars.count <= 60 else { return nil }
                return (id, text, try Schema(json: schema))
            }
        }

        @Test("PredictorFactory serves a Rex model through the batch scheduler")
        func factory() throws {
            let model = try LoadedModel.load(modelDirectory: Self.modelDirectory, backend: .cpu)
            let predictor = try PredictorFactory.make(
                replicas: [model], limits: InputLimits(), policy: BatchPolicy(), metrics: ServerMetrics())
            #expect(predictor is RexUniNLUPredictor)
            #expect(predictor.info.family == "rex-uninlu")
            #expect(predictor.services.count == 1)
        }

        @Test("concurrent Rex requests share forwards (fewer engine calls than requests), each output equal to alone")
        func concurrentRequests() async throws {
            let model = try LoadedModel.load(modelDirectory: Self.modelDirectory, backend: .cpu)
            let pipeline = try #require(model.rexUniNLU)
            // The cases that run alone (a few are refused by design, e.g. a label over the length limit).
            var runnable: [(id: String, text: String, schema: Schema)] = []
            var alone: [String] = []
            for item in try Self.cases() {
                guard let result = try? await model.predict(text: item.text, schema: item.schema) else { continue }
                runnable.append(item)
                alone.append(result.json.serialized())
            }
            let cases = runnable
            let expected = alone
            #expect(cases.count >= 6)

            let engine = CountingRexEngine(pipeline.forward)
            let metrics = ServerMetrics()
            let predictor = PredictorFactory.rexUniNLU(
                engines: [engine], tokenizer: pipeline.tokenizer, info: try ModelInfo(replicas: [model]), limits: InputLimits(),
                policy: BatchPolicy(maxBatchTokens: 16_384, maxBatchWait: .milliseconds(2)), metrics: metrics)
            let scheduler = try #require(predictor.services.first as? BatchScheduler)
            let runner = Task { try await scheduler.run() }
            defer { runner.cancel() }

            let total = 3 * cases.count
            let outputs = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<total {
                    group.addTask {
                        let item = cases[index % cases.count]
                        let result = try await predictor.predict(
                            text: item.text, schema: item.schema, outputAllPrefix: false, timings: RequestTimings())
                        return (index, result.json.serialized())
                    }
                }
                // Let every request queue its first level behind the held first forward.
                try await Task.sleep(for: .milliseconds(300))
                engine.release()
                var outputs: [(Int, String)] = []
                for try await output in group { outputs.append(output) }
                return outputs
            }
            #expect(outputs.count == total)
            for (index, output) in outputs {
                #expect(output == expected[index % cases.count], "\(cases[index % cases.count].id) differs from its output alone")
            }
            let calls = engine.jobsPerCall
            #expect(calls.count < total, "\(calls.count) engine calls for \(total) requests: no batching")
            #expect(calls.contains { $0 > 1 }, "some forward carried jobs of several requests: \(calls)")
            let text = metrics.exposition()
            #expect(MetricsText(text).value("uninlu_forwards_total", ["kind": "rex"]) == Double(calls.count))
        }
    }
}
