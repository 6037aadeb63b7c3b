import ServiceLifecycle
import UniNLUCore

/// Cross-request batching. Every request's pipeline gets this scheduler (through a
/// ``TimedForward`` for SiameseUIE, a ``TimedRexForward`` for RexUniNLU) as its engine; the
/// scheduler queues the jobs of concurrent requests and runs them together, one batched engine call
/// per forward, on one lane per engine replica (`--devices`). New texts (and Rex jobs) go to the
/// least loaded replica; a SiameseUIE text's hint jobs run on the replica that holds its encoding.
/// Because the packed forward has no padding, a request's logits are the same whichever jobs share
/// its forward.
///
/// It is a `Service`: list it before the HTTP server so that, at graceful shutdown, the server stops
/// taking requests first and the scheduler then finishes what is queued.
public final class BatchScheduler: SiameseUIEForward, RexUniNLUForward, Service {
    private let lanes: [BatchLane]
    private let load: ReplicaLoad

    private init(laneEngines: [LaneEngine], policy: BatchPolicy, metrics: SchedulerMetrics) {
        lanes = laneEngines.enumerated().map { BatchLane(replica: $0.offset, engine: $0.element, policy: policy, metrics: metrics) }
        load = ReplicaLoad(replicas: laneEngines.count)
    }

    /// - Parameter engines: one SiameseUIE engine per replica (device), each used by one lane only.
    convenience init(engines: [any SiameseUIEForward], policy: BatchPolicy, metrics: SchedulerMetrics) {
        self.init(laneEngines: engines.map { .siameseUIE($0) }, policy: policy, metrics: metrics)
    }

    /// - Parameter rexEngines: one RexUniNLU engine per replica (device), each used by one lane only.
    convenience init(rexEngines: [any RexUniNLUForward], policy: BatchPolicy, metrics: SchedulerMetrics) {
        self.init(laneEngines: rexEngines.map { .rexUniNLU($0) }, policy: policy, metrics: metrics)
    }

    public var replicaCount: Int { lanes.count }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for lane in lanes { group.addTask { await lane.run() } }
            }
        } onGracefulShutdown: { [lanes] in
            for lane in lanes { Task { await lane.close() } }
        }
    }

    // MARK: Timed entry points (what TimedForward calls)

    func encode(_ texts: [[SiameseTextWindow]]) async throws -> (caches: [any SiameseTextCache], timing: JobTiming) {
        let cost = texts.reduce(0) { $0 + $1.reduce(0) { $0 + $1.ids.count } }
        let replica = load.acquireLeastLoaded(cost: cost)
        defer { load.release(replica: replica, cost: cost) }
        let completion = try await lanes[replica].submit(.encode(texts), tokens: cost)
        guard case let .caches(caches) = completion.output, caches.count == texts.count else {
            throw SchedulerError.resultCountMismatch(expected: texts.count, actual: -1)
        }
        let wrapped: [any SiameseTextCache] = zip(caches, texts).map { cache, windows in
            ScheduledTextCache(inner: cache, replica: replica, windowLengths: windows.map(\.ids.count))
        }
        return (wrapped, completion.timing)
    }

    func pointer(_ jobs: [SiameseHintJob]) async throws -> (logits: [[[PointerLogits]]], timing: JobTiming) {
        // Group the jobs by the replica holding their text (one group in the usual case).
        var groups: [Int: [(index: Int, job: SiameseHintJob, cost: Int)]] = [:]
        for (index, job) in jobs.enumerated() {
            guard let cache = job.text as? ScheduledTextCache else { throw SchedulerError.foreignTextCache }
            let windowRows = cache.windowLengths.reduce(0, +)
            let cost = job.hints.reduce(0) { $0 + windowRows + cache.windowLengths.count * $1.count }
            groups[cache.replica, default: []].append((index, SiameseHintJob(text: cache.inner, hints: job.hints), cost))
        }
        var results = [[[PointerLogits]]](repeating: [], count: jobs.count)
        var timing = JobTiming(queue: .zero, forward: .zero)
        try await withThrowingTaskGroup(of: (Int, [Int], [[[PointerLogits]]], JobTiming).self) { group in
            for (replica, members) in groups {
                let cost = members.reduce(0) { $0 + $1.cost }
                let lane = lanes[replica]
                load.acquire(replica: replica, cost: cost)
                group.addTask { [load] in
                    defer { load.release(replica: replica, cost: cost) }
                    let completion = try await lane.submit(.pointer(members.map(\.job)), tokens: cost)
                    guard case let .logits(logits) = completion.output else {
                        throw SchedulerError.resultCountMismatch(expected: members.count, actual: -1)
                    }
                    return (replica, members.map(\.index), logits, completion.timing)
                }
            }
            for try await (_, indices, logits, jobTiming) in group {
                guard logits.count == indices.count else {
                    throw SchedulerError.resultCountMismatch(expected: indices.count, actual: logits.count)
                }
                for (index, value) in zip(indices, logits) { results[index] = value }
                // Groups run in parallel: the request waited for the slowest.
                timing.queue = max(timing.queue, jobTiming.queue)
                timing.forward = max(timing.forward, jobTiming.forward)
            }
        }
        return (results, timing)
    }

    /// RexUniNLU token-pair jobs (one schema level's prompts over a text's windows) on the least
    /// loaded replica; they share forwards with other requests' jobs up to the token budget.
    func rex(_ jobs: [RexForwardJob]) async throws -> (logits: [RexTokenPairLogits], timing: JobTiming) {
        if jobs.isEmpty { return ([], JobTiming(queue: .zero, forward: .zero)) }
        let cost = jobs.reduce(0) { $0 + $1.count }
        let replica = load.acquireLeastLoaded(cost: cost)
        defer { load.release(replica: replica, cost: cost) }
        let completion = try await lanes[replica].submit(.rex(jobs), tokens: cost)
        guard case let .tokenPairs(logits) = completion.output, logits.count == jobs.count else {
            throw SchedulerError.resultCountMismatch(expected: jobs.count, actual: -1)
        }
        return (logits, completion.timing)
    }

    // MARK: SiameseUIEForward, RexUniNLUForward

    public func tokenPairLogits(_ jobs: [RexForwardJob]) async throws -> [RexTokenPairLogits] {
        try await rex(jobs).logits
    }

    public func encodeTexts(_ texts: [[SiameseTextWindow]]) async throws -> [any SiameseTextCache] {
        try await encode(texts).caches
    }

    public func pointerLogits(_ jobs: [SiameseHintJob]) async throws -> [[[PointerLogits]]] {
        try await pointer(jobs).logits
    }
}
