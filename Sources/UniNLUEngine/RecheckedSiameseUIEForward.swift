import Foundation
import UniNLUCore

// FP16 moves SiameseUIE's pointer logits by up to a few hundredths, so a decision whose logit lies
// that close to the threshold can come out differently from FP32 (docs/cuda-backend.md). This
// forward runs a fast engine (CUDA FP16) and re-runs, on a reference engine (CUDA FP32), every hint
// job with a logit within `margin` of the threshold; the other jobs keep the fast answer. The
// reference encodes a text's lower layers only when one of its jobs needs re-checking.
//
// The flag is per (hint, window) value, before upstream merges overlapping windows by averaging;
// a merged logit near the threshold whose window logits both lie outside the margin is not
// re-checked (it needs windows whose values differ by more than twice the margin).

final class RecheckedTextCache: SiameseTextCache, @unchecked Sendable {
    // @unchecked: `reference` is written once under `lock`; the rest is immutable.
    let fast: any SiameseTextCache
    let windows: [SiameseTextWindow]
    private let lock = NSLock()
    private var referenceCache: (any SiameseTextCache)?

    init(fast: any SiameseTextCache, windows: [SiameseTextWindow]) {
        self.fast = fast
        self.windows = windows
    }

    var windowCount: Int { fast.windowCount }

    var reference: (any SiameseTextCache)? { lock.withLock { referenceCache } }
    func setReference(_ cache: any SiameseTextCache) { lock.withLock { if referenceCache == nil { referenceCache = cache } } }
}

/// Counts of what the re-check did, for tests, logs and metrics.
public final class RecheckCounters: @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var jobsValue = 0, recheckedValue = 0
    public init() {}
    /// Hint jobs answered (one per hint, of all texts).
    public var hints: Int { lock.withLock { jobsValue } }
    /// Of those, re-run on the reference engine.
    public var rechecked: Int { lock.withLock { recheckedValue } }
    func add(hints: Int, rechecked: Int) { lock.withLock { jobsValue += hints; recheckedValue += rechecked } }
    /// `{"margin", "hints", "rechecked"}`, as `uninlu validate` and `uninlu bench` report it.
    public func json(margin: Float) -> JSONValue {
        .object([("margin", .number(Double(margin))), ("hints", .number(Double(hints))), ("rechecked", .number(Double(rechecked)))])
    }
}

public final class RecheckedSiameseUIEForward: SiameseUIEForward {
    let fast: any SiameseUIEForward
    let reference: any SiameseUIEForward
    let threshold: Float
    let margin: Float
    public let counters = RecheckCounters()

    /// - Parameters:
    ///   - threshold: the pipeline's decision threshold on raw logits (upstream 0.5).
    ///   - margin: logits in `threshold ± margin` (inclusive) send their hint to `reference`.
    public init(fast: any SiameseUIEForward, reference: any SiameseUIEForward, threshold: Float = 0.5, margin: Float) {
        self.fast = fast
        self.reference = reference
        self.threshold = threshold
        self.margin = margin
    }

    public func encodeTexts(_ texts: [[SiameseTextWindow]]) async throws -> [any SiameseTextCache] {
        let caches = try await fast.encodeTexts(texts)
        return zip(caches, texts).map { RecheckedTextCache(fast: $0, windows: $1) }
    }

    public func pointerLogits(_ jobs: [SiameseHintJob]) async throws -> [[[PointerLogits]]] {
        var texts: [RecheckedTextCache] = []
        for job in jobs {
            guard let cache = job.text as? RecheckedTextCache else {
                throw EngineError.recheckNotApplicable(reason: "a text cache from another engine was passed to the re-checking engine")
            }
            texts.append(cache)
        }
        var result = try await fast.pointerLogits(zip(jobs, texts).map { SiameseHintJob(text: $1.fast, hints: $0.hints) })

        // The hints whose logits come close to the threshold, per job.
        var flagged: [(job: Int, hints: [Int])] = []
        for (j, perHint) in result.enumerated() {
            let near = perHint.indices.filter { h in perHint[h].contains { isNear($0.head) || isNear($0.tail) } }
            if !near.isEmpty { flagged.append((j, near)) }
        }
        counters.add(hints: jobs.reduce(0) { $0 + $1.hints.count }, rechecked: flagged.reduce(0) { $0 + $1.hints.count })
        guard !flagged.isEmpty else { return result }

        // Encode on the reference the texts it has not seen yet (one batched call), then re-run.
        var missing: [RecheckedTextCache] = []
        for (j, _) in flagged where texts[j].reference == nil && !missing.contains(where: { $0 === texts[j] }) {
            missing.append(texts[j])
        }
        if !missing.isEmpty {
            let encoded = try await reference.encodeTexts(missing.map(\.windows))
            for (cache, referenceCache) in zip(missing, encoded) { cache.setReference(referenceCache) }
        }
        var referenceJobs: [SiameseHintJob] = []
        for (j, hints) in flagged {
            guard let referenceCache = texts[j].reference else {
                throw EngineError.recheckNotApplicable(reason: "the reference engine returned no text encoding")
            }
            referenceJobs.append(SiameseHintJob(text: referenceCache, hints: hints.map { jobs[j].hints[$0] }))
        }
        let rechecked = try await reference.pointerLogits(referenceJobs)
        for ((j, hints), answers) in zip(flagged, rechecked) {
            for (h, answer) in zip(hints, answers) { result[j][h] = answer }
        }
        return result
    }

    private func isNear(_ values: [Float]) -> Bool {
        values.contains { abs($0 - threshold) <= margin }
    }
}
