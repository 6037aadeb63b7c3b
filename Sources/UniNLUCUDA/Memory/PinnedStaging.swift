import CCUDA

// Pinned host memory for the small per-forward uploads (ids, row maps, attention work items), so
// that they are truly asynchronous copies. Bump allocation; the arena is reused after the stream has
// been synchronized (every download synchronizes), or synchronizes itself when full.

final class PinnedStaging {
    private let context: CUDAContext
    private let base: UnsafeMutableRawPointer
    private let capacity: Int
    private var offset = 0
    /// Bytes kept for captured graphs, which read them at every replay.
    private var floor = 0

    init(context: CUDAContext, capacity: Int = 8 << 20) throws {
        self.context = context
        self.capacity = capacity
        base = try context.allocatePinned(bytes: capacity)
    }

    deinit { context.freePinned(base) }

    /// Marks the arena free: call only after the stream has been synchronized.
    func reset() { offset = floor }

    /// Keeps everything staged so far (a graph just captured reads it on replay).
    func reserveUsed() { floor = offset }

    /// Copies `bytes` from `source` into device memory at `destination`, in stream order.
    func upload(_ source: UnsafeRawBufferPointer, to destination: CUdeviceptr) throws {
        let bytes = source.count
        guard bytes > 0 else { return }
        if let recorder = context.recorder {
            switch recorder.mode {
            case .patch:
                _ = try recorder.stage(source, to: destination)
                return
            case .capture:
                if let slot = try recorder.stage(source, to: destination) { try context.issueUpload(destination, from: slot, bytes: bytes) }
                return
            case .dryRun:
                _ = try recorder.stage(source, to: destination)
            }
        }
        let aligned = (bytes + 255) & ~255
        if aligned > capacity {
            try context.copy(toDevice: destination, from: source.baseAddress!, bytes: bytes)
            return
        }
        if offset + aligned > capacity {
            try context.synchronize()
            offset = floor
            if offset + aligned > capacity {
                try context.copy(toDevice: destination, from: source.baseAddress!, bytes: bytes)
                return
            }
        }
        let slot = base + offset
        slot.copyMemory(from: source.baseAddress!, byteCount: bytes)
        offset += aligned
        try context.copy(toDevice: destination, from: UnsafeRawPointer(slot), bytes: bytes)
    }
}
