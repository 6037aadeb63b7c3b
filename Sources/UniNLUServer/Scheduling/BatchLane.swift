import UniNLUCore

// One engine replica's queue and the loop that feeds it (TEI's queue + batching task, one per
// device). Callers suspend in `submit`; the loop takes the oldest job, gathers queued jobs of the
// same kind up to the token budget (waiting at most `maxBatchWait` for company when the engine was
// idle; never after a forward that left jobs queued), runs one engine call and hands each job its slice of the result. A job whose caller is
// cancelled (deadline, disconnect) is dropped if it has not started yet; if its forward is already
// running, the caller is answered at once and its part of the result discarded.

actor BatchLane {
    nonisolated let replica: Int
    private let engine: LaneEngine
    private let policy: BatchPolicy
    private let metrics: SchedulerMetrics

    private struct PendingJob {
        let id: UInt64
        let work: ForwardWork
        let tokens: Int
        let enqueuedAt: ContinuousClock.Instant
        let continuation: CheckedContinuation<ForwardCompletion, any Error>
    }

    private var queue: [PendingJob] = []
    /// Jobs inside the current forward whose callers still wait (a cancelled caller is answered at
    /// once and removed; its part of the result is discarded).
    private var running: [UInt64: PendingJob] = [:]
    private var nextJobID: UInt64 = 0
    private var idleWaiter: CheckedContinuation<Void, Never>?
    private var closed = false

    init(replica: Int, engine: LaneEngine, policy: BatchPolicy, metrics: SchedulerMetrics) {
        self.replica = replica
        self.engine = engine
        self.policy = policy
        self.metrics = metrics
    }

    init(replica: Int, engine: any SiameseUIEForward, policy: BatchPolicy, metrics: SchedulerMetrics) {
        self.init(replica: replica, engine: .siameseUIE(engine), policy: policy, metrics: metrics)
    }

    /// Queues `work` and returns its part of the forward that runs it.
    func submit(_ work: ForwardWork, tokens: Int) async throws -> ForwardCompletion {
        if closed { throw SchedulerError.shuttingDown }
        let id = nextJobID
        nextJobID += 1
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                queue.append(PendingJob(id: id, work: work, tokens: tokens, enqueuedAt: .now, continuation: continuation))
                metrics.queueDepth.increment()
                wakeLoop()
            }
        } onCancel: {
            Task { await self.drop(id: id) }
        }
    }

    /// Stops taking work; the loop returns once the queue is empty.
    func close() {
        closed = true
        wakeLoop()
    }

    /// The worker loop: returns after `close()` once every queued job has run, or at cancellation
    /// (failing what is still queued).
    func run() async {
        while let batch = await nextBatch() {
            await execute(batch)
        }
        for job in queue { job.continuation.resume(throwing: closed ? SchedulerError.shuttingDown : CancellationError()) }
        metrics.queueDepth.decrement(by: Double(queue.count))
        queue.removeAll()
    }

    private func wakeLoop() {
        idleWaiter?.resume()
        idleWaiter = nil
    }

    private func drop(id: UInt64) {
        if let index = queue.firstIndex(where: { $0.id == id }) {
            let job = queue.remove(at: index)
            metrics.queueDepth.decrement()
            metrics.droppedJobs.increment()
            job.continuation.resume(throwing: CancellationError())
        } else if let job = running.removeValue(forKey: id) {
            job.continuation.resume(throwing: CancellationError())
        }
    }

    /// The next forward's jobs, or nil when the lane is closed and empty, or cancelled.
    private func nextBatch() async -> [PendingJob]? {
        // Only a lane that found its queue empty (the engine idle) lets the oldest job wait for
        // company; jobs that queued up during the last forward go at once, so a busy engine never
        // sits out `maxBatchWait` between forwards.
        var wasIdle = false
        while !Task.isCancelled {
            guard let head = queue.first else {
                if closed { return nil }
                wasIdle = true
                await withTaskCancellationHandler {
                    await withCheckedContinuation { idleWaiter = $0 }
                } onCancel: {
                    Task { await self.wakeLoop() }
                }
                continue
            }
            let (picked, full) = selection(kind: head.work.kind)
            let waitUntil = head.enqueuedAt + policy.maxBatchWait
            if !wasIdle || full || closed || ContinuousClock.now >= waitUntil {
                let chosen = Set(picked)
                let batch = picked.map { queue[$0] }
                queue = queue.enumerated().filter { !chosen.contains($0.offset) }.map(\.element)
                metrics.queueDepth.decrement(by: Double(batch.count))
                return batch
            }
            // Sleep out the wait; new arrivals join the queue meanwhile (actor reentrancy).
            try? await Task.sleep(until: waitUntil, clock: .continuous)
        }
        return nil
    }

    /// Queue positions of the jobs of `kind` that fit the budget in arrival order (the first always
    /// does), and whether the budget is used up.
    private func selection(kind: ForwardWork.Kind) -> (indices: [Int], full: Bool) {
        var indices: [Int] = []
        var tokens = 0
        for (index, job) in queue.enumerated() where job.work.kind == kind {
            if !indices.isEmpty && tokens + job.tokens > policy.maxBatchTokens { return (indices, true) }
            indices.append(index)
            tokens += job.tokens
        }
        return (indices, tokens >= policy.maxBatchTokens)
    }

    private func execute(_ batch: [PendingJob]) async {
        guard let kind = batch.first?.work.kind else { return }
        let started = ContinuousClock.now
        for job in batch { metrics.queueTime.record(duration: started - job.enqueuedAt) }
        metrics.recordForward(kind: kind, jobs: batch.count, tokens: batch.reduce(0) { $0 + $1.tokens })
        for job in batch { running[job.id] = job }
        do {
            let outputs = try await run(kind: kind, batch: batch)
            let forward = ContinuousClock.now - started
            metrics.forwardDuration(kind)?.record(duration: forward)
            for (job, output) in zip(batch, outputs) {
                guard running.removeValue(forKey: job.id) != nil else { continue }
                job.continuation.resume(returning: ForwardCompletion(
                    output: output, timing: JobTiming(queue: started - job.enqueuedAt, forward: forward)))
            }
        } catch {
            metrics.forwardFailures.increment()
            for job in batch where running.removeValue(forKey: job.id) != nil { job.continuation.resume(throwing: error) }
        }
    }

    /// One engine call for the whole batch, split back into one output per job.
    private func run(kind: ForwardWork.Kind, batch: [PendingJob]) async throws -> [ForwardOutput] {
        switch (kind, engine) {
        case let (.encode, .siameseUIE(engine)):
            let texts = batch.flatMap { job -> [[SiameseTextWindow]] in
                if case let .encode(texts) = job.work { return texts } else { return [] }
            }
            let caches = try await engine.encodeTexts(texts)
            return try split(caches, by: batch).map { ForwardOutput.caches($0) }
        case let (.pointer, .siameseUIE(engine)):
            let jobs = batch.flatMap { job -> [SiameseHintJob] in
                if case let .pointer(jobs) = job.work { return jobs } else { return [] }
            }
            let logits = try await engine.pointerLogits(jobs)
            return try split(logits, by: batch).map { ForwardOutput.logits($0) }
        case let (.rex, .rexUniNLU(engine)):
            let jobs = batch.flatMap { job -> [RexForwardJob] in
                if case let .rex(jobs) = job.work { return jobs } else { return [] }
            }
            let logits = try await engine.tokenPairLogits(jobs)
            return try split(logits, by: batch).map { ForwardOutput.tokenPairs($0) }
        case (.encode, .rexUniNLU), (.pointer, .rexUniNLU), (.rex, .siameseUIE):
            throw SchedulerError.wrongEngine(kind: kind.rawValue)
        }
    }

    private func split<T>(_ items: [T], by batch: [PendingJob]) throws -> [[T]] {
        let expected = batch.reduce(0) { $0 + $1.work.itemCount }
        guard items.count == expected else { throw SchedulerError.resultCountMismatch(expected: expected, actual: items.count) }
        var parts: [[T]] = []
        var start = 0
        for job in batch {
            parts.append(Array(items[start..<start + job.work.itemCount]))
            start += job.work.itemCount
        }
        return parts
    }
}
