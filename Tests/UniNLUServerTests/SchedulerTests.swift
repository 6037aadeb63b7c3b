import Foundation
import Testing
import UniNLUCore
@testable import UniNLUServer

// The scheduler against a recording fake engine (no model): token budget, kinds never mixed,
// results routed back to their callers.

final class RecordingEngine: SiameseUIEForward, @unchecked Sendable {
    // @unchecked: `batches` and `gate` are only touched under `lock`.
    private let lock = NSLock()
    private var batches: [(kind: String, items: Int, tokens: Int)] = []
    private var gateOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    final class Cache: SiameseTextCache {
        let firstID: Int32
        let windowCount: Int
        init(firstID: Int32, windowCount: Int) {
            self.firstID = firstID
            self.windowCount = windowCount
        }
    }

    var recorded: [(kind: String, items: Int, tokens: Int)] { lock.withLock { batches } }

    func open() {
        let waiting = lock.withLock {
            gateOpen = true
            defer { waiters = [] }
            return waiters
        }
        waiting.forEach { $0.resume() }
    }

    private func waitForGate() async {
        await withCheckedContinuation { continuation in
            let open = lock.withLock {
                if !gateOpen { waiters.append(continuation) }
                return gateOpen
            }
            if open { continuation.resume() }
        }
    }

    func encodeTexts(_ texts: [[SiameseTextWindow]]) async throws -> [any SiameseTextCache] {
        lock.withLock { batches.append(("encode", texts.count, texts.reduce(0) { $0 + $1.reduce(0) { $0 + $1.ids.count } })) }
        await waitForGate()
        return texts.map { Cache(firstID: $0.first?.ids.first ?? -1, windowCount: $0.count) }
    }

    /// Each logit is the text's first id + the hint's first id, so routing errors show.
    func pointerLogits(_ jobs: [SiameseHintJob]) async throws -> [[[PointerLogits]]] {
        lock.withLock { batches.append(("pointer", jobs.count, 0)) }
        await waitForGate()
        return jobs.map { job in
            let cache = job.text as? Cache
            return job.hints.map { hint in
                (0..<(cache?.windowCount ?? 0)).map { _ in
                    let value = Float((cache?.firstID ?? -1000) + (hint.first ?? 0))
                    return PointerLogits(head: [value], tail: [value])
                }
            }
        }
    }
}

extension ServerTests {
    @Suite("Batch scheduler")
    struct SchedulerTests {
        static func window(_ first: Int32, length: Int) -> [SiameseTextWindow] {
            [SiameseTextWindow(ids: [first] + Array(repeating: 1, count: length - 1), attentionMask: Array(repeating: 1, count: length))]
        }

        @Test("forwards respect the token budget, and every caller gets its own result")
        func tokenBudget() async throws {
            let engine = RecordingEngine()
            let scheduler = BatchScheduler(
                engines: [engine], policy: BatchPolicy(maxBatchTokens: 40, maxBatchWait: .milliseconds(50)),
                metrics: ServerMetrics().scheduler)
            let runner = Task { try await scheduler.run() }
            defer { runner.cancel() }
            // Ten texts of 15 tokens while the engine is gated: at most two fit in a 40-token forward.
            let results = try await withThrowingTaskGroup(of: (Int32, Int32, Float).self) { group in
                for first in Int32(100)..<110 {
                    group.addTask {
                        let caches = try await scheduler.encodeTexts([Self.window(first, length: 15)])
                        let logits = try await scheduler.pointerLogits([SiameseHintJob(text: caches[0], hints: [[first * 10]])])
                        return (first, first * 10, logits[0][0][0].head[0])
                    }
                }
                try await Task.sleep(for: .milliseconds(200))
                engine.open()
                var results: [(Int32, Int32, Float)] = []
                for try await result in group { results.append(result) }
                return results
            }
            #expect(results.count == 10)
            for (first, hint, value) in results { #expect(value == Float(first + hint), "result routed to the wrong caller") }
            let encodes = engine.recorded.filter { $0.kind == "encode" }
            #expect(encodes.reduce(0) { $0 + $1.items } == 10)
            for batch in encodes { #expect(batch.tokens <= 40, "a forward of \(batch.tokens) tokens exceeds the budget") }
            #expect(encodes.contains { $0.items == 2 }, "queued texts were coalesced: \(encodes)")
            #expect(engine.recorded.allSatisfy { $0.kind == "encode" || $0.kind == "pointer" })
        }

        @Test("a job larger than the budget still runs, alone")
        func oversizedJob() async throws {
            let engine = RecordingEngine()
            engine.open()
            let scheduler = BatchScheduler(
                engines: [engine], policy: BatchPolicy(maxBatchTokens: 8, maxBatchWait: .zero), metrics: ServerMetrics().scheduler)
            let runner = Task { try await scheduler.run() }
            defer { runner.cancel() }
            let caches = try await scheduler.encodeTexts([Self.window(7, length: 30)])
            #expect(caches.count == 1)
            #expect(engine.recorded.first?.tokens == 30)
        }

        @Test("after shutdown begins, queued work finishes and new work is refused")
        func closeRefusesNewWork() async throws {
            let engine = RecordingEngine()
            engine.open()
            let lane = BatchLane(replica: 0, engine: engine, policy: BatchPolicy(), metrics: ServerMetrics().scheduler)
            let loop = Task { await lane.run() }
            _ = try await lane.submit(.encode([Self.window(1, length: 4)]), tokens: 4)
            await lane.close()
            await loop.value
            await #expect(throws: SchedulerError.shuttingDown) {
                _ = try await lane.submit(.encode([Self.window(1, length: 4)]), tokens: 4)
            }
        }
    }
}
