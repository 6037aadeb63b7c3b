import Foundation
import UniNLUCUDA

// Which compute backend runs the model. `auto` picks the best one available on this machine: CUDA
// when a usable GPU and the CUDA libraries are there, else the CPU (saying why, once, on stderr).

public enum Backend: String, Sendable, CaseIterable {
    case auto
    case cpu
    case cuda
}

/// The numeric precision of a model's forward: the one type every `--precision` flag parses
/// (`predict`, `serve`, `build`, `bench`). Which ones a backend runs is `Backend.supportedPrecisions`:
/// the CPU backend is the FP32 reference; the CUDA backend runs fp16 (its default) and fp32. bf16,
/// int8 and fp8 are named so the flag is stable; asking for them is refused, with the list of what
/// the backend runs, until an engine implements them.
public enum ComputePrecision: String, Sendable, CaseIterable {
    case fp32
    case fp16
    case bf16
    case int8
    case fp8

    /// The CUDA backend's policy for this precision; throws for one it does not run.
    func cuda() throws -> CUDAPrecision {
        switch self {
        case .fp16: return .fp16
        case .fp32: return .fp32
        case .bf16, .int8, .fp8:
            throw EngineError.unsupportedPrecision(precision: rawValue, backend: Backend.cuda.rawValue,
                                                   supported: Backend.cuda.supportedPrecisions.map(\.rawValue))
        }
    }
}

extension Backend {
    /// What the backend runs, its default first. `auto` answers for the CPU (what it is before it
    /// resolves); resolve it first to know.
    public var supportedPrecisions: [ComputePrecision] {
        switch self {
        case .auto, .cpu: return [.fp32]
        case .cuda: return [.fp16, .fp32]
        }
    }

    /// The precision used when none is asked for: fp16 on CUDA, fp32 on the CPU.
    public var defaultPrecision: ComputePrecision { supportedPrecisions[0] }

    /// `precision` (or the default when nil) if this backend runs it, else `unsupportedPrecision`
    /// naming what it does run.
    public func checkedPrecision(_ precision: ComputePrecision?) throws -> ComputePrecision {
        guard let precision else { return defaultPrecision }
        guard supportedPrecisions.contains(precision) else {
            throw EngineError.unsupportedPrecision(precision: precision.rawValue, backend: rawValue,
                                                   supported: supportedPrecisions.map(\.rawValue))
        }
        return precision
    }
}

extension Backend {
    /// The concrete backend: `.cpu` or `.cuda`. Throws `backendUnavailable` for `--backend cuda` on a
    /// machine that cannot run it; `auto` falls back to the CPU with one log line.
    public func resolved() throws -> Backend {
        switch self {
        case .cpu: return .cpu
        case .cuda:
            let env = CUDAEnvironment.probe()
            guard env.canRun else {
                throw EngineError.backendUnavailable(backend: "cuda", reason: env.problem ?? "no usable GPU")
            }
            return .cuda
        case .auto:
            let env = CUDAEnvironment.probe()
            if env.canRun { return .cuda }
            Backend.logFallbackOnce(env.problem ?? "no usable GPU")
            return .cpu
        }
    }

    /// How many CUDA devices the driver reports (0 when there is no GPU or no libcuda).
    public static func cudaDeviceCount() -> Int {
        (try? CUDADriver.deviceCount()) ?? 0
    }

    private static let fallbackLogged = LockedFlag()

    static func logFallbackOnce(_ reason: String) {
        guard fallbackLogged.setOnce() else { return }
        let firstLine = reason.split(separator: "\n").first.map(String.init) ?? reason
        FileHandle.standardError.write(Data("uninlu: backend auto: CUDA unavailable (\(firstLine)); using the CPU backend\n".utf8))
    }
}

final class LockedFlag: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var set = false
    /// True the first time only.
    func setOnce() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if set { return false }
        set = true
        return true
    }
}
