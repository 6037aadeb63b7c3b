import CCUDA

// The host side of a replayable CUDA graph. A captured graph bakes in every kernel argument and
// every device address; only the bytes it uploads from pinned host memory are read afresh at each
// replay. So a forward may replay a graph when its host pass issues exactly the captured ops with
// the same arguments, in the same order, differing only in the bytes it uploads. The recorder
// checks that: while capturing it logs each stream op; while patching it compares each op of the
// new host pass with the log (skipping the device work) and writes the new upload bytes into the
// graph's pinned slots. Any difference throws `graphReplayMismatch` before anything is launched.

/// One stream operation as the host issued it.
enum RecordedStreamOp: Equatable, CustomStringConvertible {
    case launch(function: UInt, grid: [Int], block: [Int], sharedBytes: Int, arguments: [UInt64])
    case upload(destination: CUdeviceptr, bytes: Int)
    case copy(destination: CUdeviceptr, source: CUdeviceptr, bytes: Int)
    case fill(destination: CUdeviceptr, byte: UInt8, bytes: Int)
    /// m, n, k, gelu, residual; x, weight, bias, residual, output.
    case gemm(shape: [Int], pointers: [CUdeviceptr])

    var description: String {
        switch self {
        case let .launch(_, grid, block, _, arguments): return "launch grid \(grid) block \(block) with \(arguments.count) arguments"
        case let .upload(_, bytes): return "upload of \(bytes) bytes"
        case let .copy(_, _, bytes): return "device copy of \(bytes) bytes"
        case let .fill(_, _, bytes): return "fill of \(bytes) bytes"
        case let .gemm(shape, _): return "GEMM \(shape)"
        }
    }
}

final class StreamRecorder {
    enum Mode {
        /// Runs normally and counts the staged upload bytes (sizes the graph's pinned arena).
        case dryRun
        /// Runs under stream capture: uploads come from the graph's own pinned arena; ops are logged.
        case capture
        /// Issues nothing: compares each op with the log and patches the upload slots.
        case patch
    }

    let mode: Mode
    private(set) var ops: [RecordedStreamOp]
    /// For each logged upload (by op index), its pinned source in the graph's arena.
    private(set) var uploadSlots: [Int: UnsafeMutableRawPointer]
    private(set) var stagedBytes = 0
    private var cursor = 0
    private let arena: PinnedArena?
    private var arenaOffset = 0

    private init(mode: Mode, ops: [RecordedStreamOp], uploadSlots: [Int: UnsafeMutableRawPointer], arena: PinnedArena?) {
        self.mode = mode
        self.ops = ops
        self.uploadSlots = uploadSlots
        self.arena = arena
    }

    static func dryRun() -> StreamRecorder { StreamRecorder(mode: .dryRun, ops: [], uploadSlots: [:], arena: nil) }
    static func capture(into arena: PinnedArena) -> StreamRecorder { StreamRecorder(mode: .capture, ops: [], uploadSlots: [:], arena: arena) }
    static func patch(_ graph: ReplayableGraph) -> StreamRecorder { patch(ops: graph.ops, uploadSlots: graph.uploadSlots) }
    static func patch(ops: [RecordedStreamOp], uploadSlots: [Int: UnsafeMutableRawPointer]) -> StreamRecorder {
        StreamRecorder(mode: .patch, ops: ops, uploadSlots: uploadSlots, arena: nil)
    }

    /// Called for every stream op but uploads. Returns true when the op must not be issued (patch).
    func intercept(_ op: RecordedStreamOp) throws -> Bool {
        switch mode {
        case .dryRun: return false
        case .capture:
            ops.append(op)
            return false
        case .patch:
            try expect(op)
            return true
        }
    }

    private func expect(_ op: RecordedStreamOp) throws {
        guard cursor < ops.count else { throw CUDAError.graphReplayMismatch(detail: "op \(cursor) (\(op)) past the graph's \(ops.count)") }
        guard ops[cursor] == op else { throw CUDAError.graphReplayMismatch(detail: "op \(cursor): \(op), captured \(ops[cursor])") }
        cursor += 1
    }

    /// A staged upload. Dry run: counts it and returns nil (stage as usual). Capture: copies the
    /// bytes into the next arena slot and returns it (the graph reads it there). Patch: writes the
    /// bytes into the captured slot and returns nil (nothing to issue).
    func stage(_ source: UnsafeRawBufferPointer, to destination: CUdeviceptr) throws -> UnsafeRawPointer? {
        let aligned = (source.count + 255) & ~255
        switch mode {
        case .dryRun:
            stagedBytes += aligned
            return nil
        case .capture:
            guard let arena, arenaOffset + aligned <= arena.bytes else {
                throw CUDAError.graphReplayMismatch(detail: "the capture staged more than its dry run")
            }
            let slot = arena.base + arenaOffset
            arenaOffset += aligned
            if let address = source.baseAddress { slot.copyMemory(from: address, byteCount: source.count) }
            uploadSlots[ops.count] = slot
            ops.append(.upload(destination: destination, bytes: source.count))
            return UnsafeRawPointer(slot)
        case .patch:
            let index = cursor
            try expect(.upload(destination: destination, bytes: source.count))
            guard let slot = uploadSlots[index] else { throw CUDAError.graphReplayMismatch(detail: "op \(index) has no staging slot") }
            if let address = source.baseAddress { slot.copyMemory(from: address, byteCount: source.count) }
            return nil
        }
    }

    /// A host-to-device copy that did not come through staging: only the dry run may issue one (a
    /// graph would read its source, which the caller owns, at every replay).
    func directUpload(bytes: Int) throws {
        if mode != .dryRun { throw CUDAError.notCapturable(op: "an upload of \(bytes) bytes from unstaged host memory") }
    }

    /// Downloads and synchronizations: fine in the dry run, impossible inside a graph.
    func refuse(_ op: String) throws {
        if mode != .dryRun { throw CUDAError.notCapturable(op: op) }
    }

    /// After the patch pass: every captured op must have been issued again.
    func finishPatch() throws {
        guard cursor == ops.count else { throw CUDAError.graphReplayMismatch(detail: "\(cursor) ops issued, the graph holds \(ops.count)") }
    }
}

/// Pinned host memory owned by one graph (its upload sources).
final class PinnedArena {
    let context: CUDAContext
    let base: UnsafeMutableRawPointer
    let bytes: Int

    init(context: CUDAContext, bytes: Int) throws {
        self.context = context
        self.bytes = max(bytes, 256)
        base = try context.allocatePinned(bytes: self.bytes)
    }

    deinit { context.freePinned(base) }
}
