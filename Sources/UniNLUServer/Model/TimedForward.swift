import UniNLUCore

// The forward one request's pipeline sees: the shared scheduler, with this request's queue and
// engine time recorded as its jobs complete.

struct TimedForward: SiameseUIEForward {
    let scheduler: BatchScheduler
    let timings: RequestTimings

    func encodeTexts(_ texts: [[SiameseTextWindow]]) async throws -> [any SiameseTextCache] {
        let (caches, timing) = try await scheduler.encode(texts)
        timings.add(timing)
        return caches
    }

    func pointerLogits(_ jobs: [SiameseHintJob]) async throws -> [[[PointerLogits]]] {
        let (logits, timing) = try await scheduler.pointer(jobs)
        timings.add(timing)
        return logits
    }
}
