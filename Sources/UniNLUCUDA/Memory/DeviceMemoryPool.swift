import CCUDA
import Foundation

// Device memory for activations, recycled by size class (powers of two from 512 bytes): an op's
// output reuses a buffer freed earlier in stream order, so steady-state forwards call no cuMemAlloc.
// Buffers may be released from any thread (ARC), so the free lists are behind a lock; only the model
// thread allocates from the driver.

final class DeviceMemoryPool: @unchecked Sendable {
    // @unchecked: mutable state is guarded by `lock`.
    private let context: CUDAContext
    private let lock = NSLock()
    private var free: [Int: [CUdeviceptr]] = [:]
    private var all: [CUdeviceptr] = []
    private(set) var reservedBytes = 0
    private var retaining: [DeviceBuffer]?
    /// While a replayable graph is captured: what the region frees is reused by the region only, and
    /// every buffer it is handed is logged in order (ReplayableGraph.swift). Guarded by `lock`.
    private var capturing: CaptureState?
    /// Buffers owned by live graphs (pointer → capacity): releasing a wrapper of one returns nothing.
    private var graphOwned: [CUdeviceptr: Int] = [:]
    /// While a graph's forward is patched: its capture's allocation log, handed out again in order.
    private var replaying: (log: [GraphAllocation], next: Int)?

    private final class CaptureState {
        var free: [Int: [CUdeviceptr]] = [:]
        var handed: [CUdeviceptr: Int] = [:]
        var log: [GraphAllocation] = []
    }

    init(context: CUDAContext) { self.context = context }

    static func sizeClass(_ bytes: Int) -> Int {
        var size = 512
        while size < bytes { size <<= 1 }
        return size
    }

    func allocate(bytes: Int) throws -> DeviceBuffer {
        if let (log, next) = replaying {
            guard next < log.count, log[next].capacity == Self.sizeClass(bytes) else {
                throw CUDAError.graphReplayMismatch(detail: "allocation \(next) of \(bytes) bytes differs from the capture's")
            }
            replaying = (log, next + 1)
            // The graph owns the memory: this wrapper's release returns nothing.
            return DeviceBuffer(pointer: log[next].pointer, capacity: log[next].capacity, pool: self)
        }
        if let buffer = try allocateForCapture(bytes: bytes) { return buffer }
        let buffer = try allocateUnretained(bytes: bytes)
        if retaining != nil { retaining!.append(buffer) }
        return buffer
    }

    /// While a graph is captured, every buffer handed out is also kept by the graph.
    func beginRetaining() { retaining = [] }

    func endRetaining() -> [DeviceBuffer] {
        defer { retaining = nil }
        return retaining ?? []
    }

    /// Hands out a graph's allocations (in capture order) instead of free ones until `endReplaying`.
    func beginReplaying(_ log: [GraphAllocation]) { replaying = (log, 0) }

    /// Ends the replay; returns whether every allocation of the capture was made again.
    @discardableResult
    func endReplaying() -> Bool {
        defer { replaying = nil }
        guard let (log, next) = replaying else { return false }
        return next == log.count
    }

    /// Starts a capture: from here the region reuses what it frees, takes the rest from the free
    /// lists (a dry run of the region just left enough there) and never calls cuMemAlloc.
    func beginCapture() {
        lock.withLock { capturing = CaptureState() }
    }

    /// Ends a capture: every buffer the region was handed now belongs to the graph (the caller has
    /// dropped the region's outputs and caches).
    func endCapture() -> GraphMemory {
        let state = lock.withLock { () -> CaptureState? in
            defer { capturing = nil }
            guard let state = capturing else { return nil }
            graphOwned.merge(state.handed) { current, _ in current }
            return state
        }
        return GraphMemory(pool: self, owned: state?.handed ?? [:], log: state?.log ?? [])
    }

    /// A capture that failed: what the region freed goes back to the free lists (buffers still held
    /// return there when released).
    func abortCapture() {
        lock.withLock {
            guard let state = capturing else { return }
            for (size, pointers) in state.free { free[size, default: []].append(contentsOf: pointers) }
            capturing = nil
        }
    }

    /// A graph went away: its memory returns to the free lists.
    func returnGraphMemory(_ owned: [CUdeviceptr: Int]) {
        lock.withLock {
            for (pointer, capacity) in owned {
                graphOwned[pointer] = nil
                free[capacity, default: []].append(pointer)
            }
        }
    }

    private func allocateForCapture(bytes: Int) throws -> DeviceBuffer? {
        let size = Self.sizeClass(bytes)
        let pointer: CUdeviceptr? = try lock.withLock {
            guard let state = capturing else { return nil }
            var pointer = state.free[size]?.popLast()
            if pointer == nil { pointer = free[size]?.popLast() }
            guard let pointer else {
                throw CUDAError.notCapturable(op: "an allocation of \(bytes) bytes beyond what the dry run left free")
            }
            state.handed[pointer] = size
            state.log.append(GraphAllocation(pointer: pointer, capacity: size))
            return pointer
        }
        return pointer.map { DeviceBuffer(pointer: $0, capacity: size, pool: self) }
    }

    private func allocateUnretained(bytes: Int) throws -> DeviceBuffer {
        let size = Self.sizeClass(bytes)
        lock.lock()
        if var list = free[size], let pointer = list.popLast() {
            free[size] = list
            lock.unlock()
            return DeviceBuffer(pointer: pointer, capacity: size, pool: self)
        }
        lock.unlock()
        let pointer: CUdeviceptr
        do {
            pointer = try context.allocate(bytes: size)
        } catch CUDAError.outOfMemory {
            trim()
            pointer = try context.allocate(bytes: size)
        }
        lock.lock()
        all.append(pointer)
        reservedBytes += size
        lock.unlock()
        return DeviceBuffer(pointer: pointer, capacity: size, pool: self)
    }

    func release(_ pointer: CUdeviceptr, capacity: Int) {
        lock.lock()
        if graphOwned[pointer] != nil {
            // a graph's buffer: the graph keeps it
        } else if let state = capturing, state.handed[pointer] != nil {
            state.free[capacity, default: []].append(pointer)
        } else {
            free[capacity, default: []].append(pointer)
        }
        lock.unlock()
    }

    /// Returns every free buffer to the driver (after the stream drains).
    func trim() {
        try? context.synchronize()
        lock.lock()
        let lists = free
        free = [:]
        lock.unlock()
        for (size, pointers) in lists {
            for pointer in pointers {
                context.free(pointer)
                lock.lock()
                all.removeAll { $0 == pointer }
                reservedBytes -= size
                lock.unlock()
            }
        }
    }

    deinit {
        _ = try? context.makeCurrent()
        try? context.synchronize()
        for pointer in all { context.free(pointer) }
    }
}

/// One allocation of a captured region, in order.
struct GraphAllocation: Equatable {
    let pointer: CUdeviceptr
    let capacity: Int
}

/// The device memory a captured graph owns (its region's working set, reused within the region as
/// op by op): back to the pool's free lists when the graph goes.
final class GraphMemory: @unchecked Sendable {
    // @unchecked: immutable; the return goes through the pool's lock.
    private let pool: DeviceMemoryPool
    let owned: [CUdeviceptr: Int]
    let log: [GraphAllocation]

    init(pool: DeviceMemoryPool, owned: [CUdeviceptr: Int], log: [GraphAllocation]) {
        self.pool = pool
        self.owned = owned
        self.log = log
    }

    var bytes: Int { owned.values.reduce(0, +) }

    deinit { pool.returnGraphMemory(owned) }
}

/// A pooled device allocation; returns to its pool when the last reference goes.
final class DeviceBuffer: @unchecked Sendable {
    // @unchecked: immutable; release goes through the pool's lock.
    let pointer: CUdeviceptr
    let capacity: Int
    private let pool: DeviceMemoryPool

    init(pointer: CUdeviceptr, capacity: Int, pool: DeviceMemoryPool) {
        self.pointer = pointer
        self.capacity = capacity
        self.pool = pool
    }

    deinit { pool.release(pointer, capacity: capacity) }
}

/// A device allocation owned outright (weights): freed when released.
final class OwnedDeviceMemory: @unchecked Sendable {
    // @unchecked: immutable after creation.
    let pointer: CUdeviceptr
    let bytes: Int
    private let context: CUDAContext

    init(context: CUDAContext, bytes: Int) throws {
        self.context = context
        self.bytes = bytes
        pointer = try context.allocate(bytes: bytes)
    }

    deinit { context.free(pointer) }
}

/// Weights: sub-allocated (256-byte aligned) from a few large chunks, so that a model's hundreds of
/// tensors cost no per-allocation rounding; the chunks are freed when the last weight goes.
final class WeightArena: @unchecked Sendable {
    // @unchecked: used from the model thread only while loading; chunks are immutable afterwards.
    private let context: CUDAContext
    private var chunks: [OwnedDeviceMemory] = []
    private var offset = 0
    static let chunkBytes = 64 << 20

    init(context: CUDAContext) { self.context = context }

    /// One chunk for the whole model when its size is known up front (no tail waste).
    func reserve(bytes: Int) throws {
        chunks.append(try OwnedDeviceMemory(context: context, bytes: (bytes + 255) & ~255))
        offset = 0
    }

    func allocate(bytes: Int) throws -> ArenaSlice {
        let size = (max(bytes, 1) + 255) & ~255
        if chunks.isEmpty || offset + size > chunks[chunks.count - 1].bytes {
            chunks.append(try OwnedDeviceMemory(context: context, bytes: max(Self.chunkBytes, size)))
            offset = 0
        }
        let chunk = chunks[chunks.count - 1]
        let slice = ArenaSlice(pointer: chunk.pointer + CUdeviceptr(offset), bytes: bytes, arena: self)
        offset += size
        return slice
    }
}

/// A weight tensor's place in a `WeightArena`; keeps the arena alive.
final class ArenaSlice: @unchecked Sendable {
    // @unchecked: immutable.
    let pointer: CUdeviceptr
    let bytes: Int
    private let arena: WeightArena
    init(pointer: CUdeviceptr, bytes: Int, arena: WeightArena) {
        self.pointer = pointer
        self.bytes = bytes
        self.arena = arena
    }
}
