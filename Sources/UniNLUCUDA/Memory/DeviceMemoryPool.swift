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
    /// While a graph's forward is patched: the buffers its capture was handed, handed out again in order.
    private var replaying: (buffers: [DeviceBuffer], next: Int)?

    init(context: CUDAContext) { self.context = context }

    static func sizeClass(_ bytes: Int) -> Int {
        var size = 512
        while size < bytes { size <<= 1 }
        return size
    }

    func allocate(bytes: Int) throws -> DeviceBuffer {
        if let (buffers, next) = replaying {
            guard next < buffers.count, buffers[next].capacity == Self.sizeClass(bytes) else {
                throw CUDAError.graphReplayMismatch(detail: "allocation \(next) of \(bytes) bytes differs from the capture's")
            }
            replaying = (buffers, next + 1)
            return buffers[next]
        }
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

    /// Hands out `buffers` (a graph's, in capture order) instead of free ones until `endReplaying`.
    func beginReplaying(_ buffers: [DeviceBuffer]) { replaying = (buffers, 0) }

    /// Ends the replay; returns whether every buffer of the capture was handed out again.
    @discardableResult
    func endReplaying() -> Bool {
        defer { replaying = nil }
        guard let (buffers, next) = replaying else { return false }
        return next == buffers.count
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
        free[capacity, default: []].append(pointer)
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
