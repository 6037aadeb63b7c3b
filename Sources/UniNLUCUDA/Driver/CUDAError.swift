// Every failure of the CUDA backend, typed, with the library's own error name and a remedy. GPU code
// never aborts the process: each driver, NVRTC and cuBLASLt return code becomes one of these.

public enum CUDAError: Error, CustomStringConvertible, Sendable {
    /// A library could not be dlopen'ed (no driver, no toolkit libraries on this machine).
    case libraryNotFound(library: String, tried: [String], reason: String)
    /// A library loaded but lacks a symbol this build needs (too old a driver or toolkit).
    case missingSymbol(library: String, symbol: String)
    /// A driver API call failed: the call, the CUresult code and its name from cuGetErrorName.
    case driver(call: String, code: Int32, name: String, message: String)
    case noDevice
    case unsupportedDevice(name: String, computeCapability: String, reason: String)
    case nvrtc(call: String, code: Int32, message: String)
    case compilation(log: String)
    case cublas(call: String, code: Int32, name: String)
    case outOfMemory(requestedBytes: Int, freeBytes: Int)
    /// An op got inputs the CUDA kernels do not handle (shape, head size, alignment).
    case unsupported(op: String, detail: String)
    case shapeMismatch(op: String, detail: String)
    case idOutOfRange(table: Int, id: Int32, rows: Int)
    /// A replayed forward's host pass issued other ops than the captured graph holds (the forward
    /// falls back to running op by op; seen only inside the backend).
    case graphReplayMismatch(detail: String)
    /// An op that cannot be part of a captured graph (a download, a synchronization) ran inside one.
    case notCapturable(op: String)

    public var description: String {
        switch self {
        case let .libraryNotFound(library, tried, reason):
            return "CUDA: cannot load \(library) (tried \(tried.joined(separator: ", ")): \(reason)); install the NVIDIA driver (libcuda) and the CUDA 12/13 runtime libraries (NVRTC, cuBLASLt), or use --backend cpu"
        case let .missingSymbol(library, symbol):
            return "CUDA: \(library) has no symbol \(symbol); the driver or toolkit is older than this build needs (CUDA 12 or newer)"
        case let .driver(call, code, name, message):
            return "CUDA: \(call) failed with \(name) (\(code)): \(message)"
        case .noDevice: return "CUDA: the driver reports no GPU on this machine; use --backend cpu"
        case let .unsupportedDevice(name, cc, reason): return "CUDA: \(name) (compute capability \(cc)) is not supported: \(reason)"
        case let .nvrtc(call, code, message): return "NVRTC: \(call) failed (\(code)): \(message)"
        case let .compilation(log): return "NVRTC: kernel compilation failed:\n\(log)"
        case let .cublas(call, code, name): return "cuBLASLt: \(call) failed with \(name) (\(code))"
        case let .outOfMemory(requested, free):
            return "CUDA: out of device memory: \(requested) bytes requested, \(free) bytes free; lower the batch size or free the GPU"
        case let .unsupported(op, detail): return "CUDA \(op): not supported: \(detail)"
        case let .shapeMismatch(op, detail): return "CUDA \(op): shape mismatch: \(detail)"
        case let .graphReplayMismatch(detail): return "CUDA graph replay: the forward issued other ops than the captured graph: \(detail)"
        case let .notCapturable(op): return "CUDA graph capture: \(op) cannot run inside a captured forward"
        case let .idOutOfRange(table, id, rows):
            return "embedding id \(id) is outside table \(table) (\(rows) rows): the tokenizer and the checkpoint disagree"
        }
    }
}
