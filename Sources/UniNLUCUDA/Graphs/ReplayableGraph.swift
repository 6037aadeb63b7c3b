import CCUDA
import UniNLUCore

// One captured forward that later calls of the same shape replay with their own inputs: the
// executable graph, the op log its host pass must match (StreamRecorder), the pinned slots its
// uploads read, its region's device memory (GraphMemory: the working set, reused within the region
// as op by op), and an event marking the end of its last replay (its pinned slots may not be
// rewritten, nor its memory returned, before then).

final class ReplayableGraph {
    let context: CUDAContext
    let exec: CUgraphExec
    let ops: [RecordedStreamOp]
    let uploadSlots: [Int: UnsafeMutableRawPointer]
    let arena: PinnedArena
    /// The region's device memory and its allocations in capture order (handed out again to the patch pass).
    let memory: GraphMemory
    let finished: CUDAContext.Event
    var replays = 0

    init(context: CUDAContext, exec: CUgraphExec, recorder: StreamRecorder, arena: PinnedArena, memory: GraphMemory) throws {
        self.context = context
        self.exec = exec
        ops = recorder.ops
        uploadSlots = recorder.uploadSlots
        self.arena = arena
        self.memory = memory
        finished = try context.makeEvent()
    }

    deinit {
        _ = try? finished.synchronize()  // before `memory` returns to the pool
        _ = context.driver.cuGraphExecDestroy(exec)
    }

    /// Device bytes this graph keeps for itself.
    var deviceBytes: Int { memory.bytes }

    func launch() throws {
        try context.driver.check(context.driver.cuGraphLaunch(exec, context.stream), "cuGraphLaunch")
        replays += 1
    }
}

/// When a forward shape is captured as a graph, and how many graphs are kept.
public struct CUDAGraphPolicy: Sendable, Equatable {
    /// Graphs kept (least recently used dropped first); 0 turns replay off.
    public var maxGraphs: Int
    /// Calls of a shape that run op by op before it is captured (the first also tunes its GEMMs).
    public var captureAfter: Int
    /// Larger forwards (packed rows) are never captured: the GPU, not the host, bounds them, and
    /// each graph keeps its activations.
    public var maxTokens: Int
    /// Models pad their sequences with masked rows up to a multiple of this many tokens (SiameseUIE's
    /// text windows and hints, RexUniNLU's prompts and its relative-distance table), so that requests
    /// of nearby lengths replay one graph; 1: exact
    /// lengths, every new length its own shape. Padding never changes a real row's result.
    public var lengthBucket: Int

    public init(maxGraphs: Int = 64, captureAfter: Int = 1, maxTokens: Int = 2048, lengthBucket: Int = 8) {
        self.maxGraphs = maxGraphs
        self.captureAfter = captureAfter
        self.maxTokens = maxTokens
        self.lengthBucket = lengthBucket
    }

    public static let disabled = CUDAGraphPolicy(maxGraphs: 0)
}

/// What the graph cache did, for metrics and benchmarks.
public struct CUDAGraphCounters: Sendable, Equatable {
    public var replays = 0
    public var captures = 0
    /// Forwards that ran op by op (graphs off, too large, not yet captured, or not capturable).
    public var eagerRuns = 0
    /// Replays refused because the host pass differed from the capture (then run op by op).
    public var mismatches = 0
    public var evictions = 0
    /// Captures that failed (the forward ran op by op; the shape is not tried again).
    public var captureFailures = 0
    /// Graphs kept now, and the device memory they hold.
    public var graphs = 0
    public var deviceBytes = 0
}

/// The graphs of one engine, by forward shape, least recently used first out.
final class GraphCache {
    var policy: CUDAGraphPolicy
    private var graphs: [ForwardShape: ReplayableGraph] = [:]
    private var recency: [ForwardShape] = []
    private var sightings: [ForwardShape: Int] = [:]
    private var uncapturable: Set<ForwardShape> = []
    /// Event counts; `counters` adds what the cache holds now.
    var events = CUDAGraphCounters()

    var counters: CUDAGraphCounters {
        var current = events
        current.graphs = graphs.count
        current.deviceBytes = graphs.values.reduce(0) { $0 + $1.deviceBytes }
        return current
    }

    init(policy: CUDAGraphPolicy) { self.policy = policy }

    func graph(for shape: ForwardShape) -> ReplayableGraph? {
        guard let graph = graphs[shape] else { return nil }
        if let index = recency.firstIndex(of: shape) { recency.remove(at: index) }
        recency.append(shape)
        return graph
    }

    /// Counts a call of `shape` that has no graph; true when it is time to capture one.
    func shouldCapture(_ shape: ForwardShape) -> Bool {
        guard !uncapturable.contains(shape) else { return false }
        if sightings.count > 16 * max(policy.maxGraphs, 64) { sightings.removeAll() }  // bounded memory
        let seen = sightings[shape, default: 0]
        sightings[shape] = seen + 1
        return seen >= policy.captureAfter
    }

    func insert(_ graph: ReplayableGraph, for shape: ForwardShape) {
        while graphs.count >= policy.maxGraphs, let oldest = recency.first {
            remove(oldest)
            events.evictions += 1
        }
        graphs[shape] = graph
        recency.append(shape)
        sightings[shape] = nil
        events.captures += 1
    }

    func remove(_ shape: ForwardShape) {
        graphs[shape] = nil
        recency.removeAll { $0 == shape }
    }

    func markUncapturable(_ shape: ForwardShape) {
        uncapturable.insert(shape)
        events.captureFailures += 1
    }

    func removeAll() {
        graphs.removeAll()
        recency.removeAll()
        sightings.removeAll()
    }
}
