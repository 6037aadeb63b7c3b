import CCUDA
import UniNLUCore

// Replayable forwards on the CUDA backend: the second call of a forward shape (by default) is
// dry-run, captured as a graph and replayed; later calls of that shape only run their host pass in
// patch mode (no launches: each op is compared with the capture and the new upload bytes go into
// the graph's pinned slots), then launch the graph. The outputs are copied out of the graph's
// buffers, so the caller may keep them while the graph replays for the next call.

extension CUDAKernels {
    public var graphPolicy: CUDAGraphPolicy {
        get { graphCache.policy }
        set {
            graphCache.policy = newValue
            if newValue.maxGraphs == 0 { graphCache.removeAll() }
        }
    }

    public var graphCounters: CUDAGraphCounters { graphCache.counters }

    /// The policy's bucket while graphs are on (padding buys nothing without replays).
    public var lengthBucket: Int { graphCache.policy.maxGraphs > 0 ? max(1, graphCache.policy.lengthBucket) : 1 }
    /// Forwards over the graph token limit are never captured, so they are not padded either.
    public var lengthBucketMaxTokens: Int { graphCache.policy.maxTokens }

    public func replayable(_ shape: ForwardShape, _ body: () throws -> [CUDAMatrix]) throws -> [CUDAMatrix] {
        let policy = graphCache.policy
        guard policy.maxGraphs > 0, shape.tokens <= policy.maxTokens, context.recorder == nil else {
            graphCache.events.eagerRuns += 1
            return try body()
        }
        if let graph = graphCache.graph(for: shape) {
            do {
                return try replay(graph, body)
            } catch CUDAError.graphReplayMismatch {
                // Same shape, other ops (a forward whose ops depend on more than its lengths): drop
                // the graph; the shape may be captured again later.
                graphCache.remove(shape)
                graphCache.events.mismatches += 1
                graphCache.events.eagerRuns += 1
                return try body()
            }
        }
        guard graphCache.shouldCapture(shape) else {
            graphCache.events.eagerRuns += 1
            return try body()
        }
        let graph: ReplayableGraph
        do {
            graph = try capture(body)
        } catch let error as CUDAError {
            switch error {
            case .notCapturable, .graphReplayMismatch, .driver:
                graphCache.markUncapturable(shape)
                graphCache.events.eagerRuns += 1
                try synchronize()  // a failed capture leaves nothing queued, but staging must reset
                return try body()
            default: throw error
            }
        }
        graphCache.insert(graph, for: shape)
        return try replay(graph, body)
    }

    /// Dry run (tunes GEMMs, sizes the pinned arena, and leaves the region's working set in the
    /// pool's free lists: cuMemAlloc is not allowed while capturing), then the capture.
    private func capture(_ body: () throws -> [CUDAMatrix]) throws -> ReplayableGraph {
        try context.makeCurrent()
        try synchronize()
        let dryRun = StreamRecorder.dryRun()
        try withRecorder(dryRun) { _ = try body() }
        try synchronize()
        let arena = try PinnedArena(context: context, bytes: dryRun.stagedBytes)
        let recorder = StreamRecorder.capture(into: arena)
        let driver = context.driver
        try driver.check(driver.cuStreamBeginCapture(context.stream, Int32(UNINLU_CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)), "cuStreamBeginCapture")
        var captured: CUgraph?
        pool.beginCapture()
        do {
            // The region's outputs are dropped and the layout caches cleared inside, so that every
            // buffer it was handed is free again (for its graph) when the capture ends.
            try withRecorder(recorder) { _ = try body() }
        } catch {
            _ = driver.cuStreamEndCapture(context.stream, &captured)
            if let captured { _ = driver.cuGraphDestroy(captured) }
            pool.abortCapture()
            throw error
        }
        let memory = pool.endCapture()
        try driver.check(driver.cuStreamEndCapture(context.stream, &captured), "cuStreamEndCapture")
        defer { if let captured { _ = driver.cuGraphDestroy(captured) } }
        var exec: CUgraphExec?
        try driver.check(driver.cuGraphInstantiateWithFlags(&exec, captured, 0), "cuGraphInstantiate")
        guard let exec else { throw CUDAError.notCapturable(op: "an empty graph") }
        return try ReplayableGraph(context: context, exec: exec, recorder: recorder, arena: arena, memory: memory)
    }

    /// The patch pass (checks the ops, writes the new uploads), the replay, and copies of the outputs.
    private func replay(_ graph: ReplayableGraph, _ body: () throws -> [CUDAMatrix]) throws -> [CUDAMatrix] {
        try context.makeCurrent()
        try graph.finished.synchronize()  // its last replay no longer reads the pinned slots
        let recorder = StreamRecorder.patch(graph)
        pool.beginReplaying(graph.memory.log)
        let outputs: [CUDAMatrix]
        do {
            outputs = try withRecorder(recorder) { try body() }
            try recorder.finishPatch()
        } catch {
            pool.endReplaying()
            throw error
        }
        guard pool.endReplaying() else {
            throw CUDAError.graphReplayMismatch(detail: "the forward allocated fewer buffers than the capture")
        }
        try graph.launch()
        let copies = try outputs.map { output in
            let copy = try makeMatrix(rows: output.rows, columns: output.columns)
            try context.copy(deviceTo: copy.pointer, from: output.pointer, bytes: output.rows * output.columns * elementSize)
            return copy
        }
        try graph.finished.record()
        graphCache.events.replays += 1
        return copies
    }

    /// Runs `body` with `recorder` on the context; the layout caches are cleared before and after, so
    /// that the layouts are staged inside the region (and no cache keeps a region buffer afterwards).
    private func withRecorder<T>(_ recorder: StreamRecorder, _ body: () throws -> T) throws -> T {
        attentionLayoutCache = nil
        disentangledLayoutCache = nil
        context.recorder = recorder
        defer {
            context.recorder = nil
            attentionLayoutCache = nil
            disentangledLayoutCache = nil
        }
        return try body()
    }
}
