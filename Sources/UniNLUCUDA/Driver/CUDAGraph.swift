import CCUDA

// A captured forward replayed as one CUDA graph: no per-op host dispatch. Capture records every
// launch, cuBLASLt call and staged upload on the engine's stream; the graph keeps every device
// buffer allocated during capture (so nothing else is handed that memory while the graph may
// replay) and the staging bytes it reads. Replays compute the same inputs again: this is the
// fixed-shape, fixed-input form used by the benchmark and the shape-bucket warm-up.

public final class CUDAGraph: @unchecked Sendable {
    // @unchecked: launched from the model thread only; immutable handles.
    let context: CUDAContext
    let exec: CUgraphExec
    let retained: [DeviceBuffer]

    init(context: CUDAContext, exec: CUgraphExec, retained: [DeviceBuffer]) {
        self.context = context
        self.exec = exec
        self.retained = retained
    }

    deinit { _ = context.driver.cuGraphExecDestroy(exec) }

    public func launch() throws {
        try context.driver.check(context.driver.cuGraphLaunch(exec, context.stream), "cuGraphLaunch")
    }
}

extension CUDAKernels {
    /// Captures `body` (ops on this backend, no downloads) into a graph. Run `body` once eagerly
    /// first so that GEMM autotuning (which synchronizes) is done before capture.
    public func captureGraph<T>(_ body: () throws -> T) throws -> (graph: CUDAGraph, result: T) {
        try context.makeCurrent()
        try synchronize()
        // cuMemAlloc is not allowed while capturing: a dry run first leaves one free pooled buffer
        // per allocation the capture will make (same sizes, same order).
        attentionLayoutCache = nil
        pool.beginRetaining()
        do {
            let dry = try body()
            withExtendedLifetime(dry) {}
        } catch {
            _ = pool.endRetaining()
            throw error
        }
        try synchronize()
        _ = pool.endRetaining()  // released to the free lists here
        attentionLayoutCache = nil  // staged again inside the capture, so that the graph keeps it
        pool.beginRetaining()
        let driver = context.driver
        try driver.check(driver.cuStreamBeginCapture(context.stream, Int32(UNINLU_CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)), "cuStreamBeginCapture")
        var captured: CUgraph?
        let result: T
        do {
            result = try body()
        } catch {
            _ = driver.cuStreamEndCapture(context.stream, &captured)
            if let captured { _ = driver.cuGraphDestroy(captured) }
            _ = pool.endRetaining()
            throw error
        }
        // The staged DeBERTa layout may have come from the cache (staged before the capture): the
        // graph reads it at every replay, so it keeps those buffers too.
        let retained = pool.endRetaining()
            + (disentangledLayoutCache.map { [$0.items, $0.narrowItems, $0.mask, $0.positions, $0.distanceRows, $0.sequenceTable, $0.relativeIndex] + [$0.tensorCoreItems, $0.tensorCoreNarrowItems].compactMap { $0 } } ?? [])
        try driver.check(driver.cuStreamEndCapture(context.stream, &captured), "cuStreamEndCapture")
        defer { if let captured { _ = driver.cuGraphDestroy(captured) } }
        var exec: CUgraphExec?
        try driver.check(driver.cuGraphInstantiateWithFlags(&exec, captured, 0), "cuGraphInstantiate")
        staging.reserveUsed()
        return (CUDAGraph(context: context, exec: exec!, retained: retained), result)
    }
}
