import Foundation
import UniNLUCore

// An engine wrapper for the overload, deadline, failure and shutdown tests: forwards to the real
// engine after an optional delay or a gate the test opens, or fails on demand, and counts calls.
// Its text caches are tagged with their replica, so a hint job sent to the wrong replica fails
// (as it would on a GPU, where the cache lives in that device's memory).

final class OwnedTextCache: SiameseTextCache {
    let owner: ObjectIdentifier
    let inner: any SiameseTextCache
    init(owner: ObjectIdentifier, inner: any SiameseTextCache) {
        self.owner = owner
        self.inner = inner
    }
    var windowCount: Int { inner.windowCount }
}

struct WrongReplica: Error, CustomStringConvertible {
    var description: String { "a hint job reached a replica that does not hold its text" }
}

final class ControllableEngine: SiameseUIEForward, @unchecked Sendable {
    // @unchecked: the mutable fields are only touched under `lock`.
    private let lock = NSLock()
    private let inner: any SiameseUIEForward
    private var delay: Duration = .zero
    private var failing = false
    private var held: [CheckedContinuation<Void, Never>] = []
    private var holding = false
    private var calls = 0

    init(_ inner: any SiameseUIEForward) { self.inner = inner }

    struct InjectedFailure: Error, CustomStringConvertible {
        var description: String { "injected engine failure" }
    }

    func setDelay(_ value: Duration) { lock.withLock { delay = value } }
    func setFailing(_ value: Bool) { lock.withLock { failing = value } }
    var callCount: Int { lock.withLock { calls } }

    /// Forwards wait until `release()`.
    func hold() { lock.withLock { holding = true } }

    func release() {
        let waiters = lock.withLock {
            holding = false
            defer { held = [] }
            return held
        }
        for waiter in waiters { waiter.resume() }
    }

    private func before() async throws {
        let (delay, failing, holding) = lock.withLock {
            calls += 1
            return (self.delay, self.failing, self.holding)
        }
        if holding {
            await withCheckedContinuation { continuation in
                let stillHolding = lock.withLock {
                    if self.holding { held.append(continuation) }
                    return self.holding
                }
                if !stillHolding { continuation.resume() }
            }
        }
        if delay > .zero { try? await Task.sleep(for: delay) }
        if failing { throw InjectedFailure() }
    }

    func encodeTexts(_ texts: [[SiameseTextWindow]]) async throws -> [any SiameseTextCache] {
        try await before()
        return try await inner.encodeTexts(texts).map { OwnedTextCache(owner: ObjectIdentifier(self), inner: $0) }
    }

    func pointerLogits(_ jobs: [SiameseHintJob]) async throws -> [[[PointerLogits]]] {
        try await before()
        let unwrapped = try jobs.map { job in
            guard let cache = job.text as? OwnedTextCache, cache.owner == ObjectIdentifier(self) else { throw WrongReplica() }
            return SiameseHintJob(text: cache.inner, hints: job.hints)
        }
        return try await inner.pointerLogits(unwrapped)
    }
}
