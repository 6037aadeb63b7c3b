import Foundation
import UniNLUCUDA

// Which compute backend runs the model. `auto` picks the best one available on this machine: CUDA
// when a usable GPU and the CUDA libraries are there, else the CPU (saying why, once, on stderr).

public enum Backend: String, Sendable, CaseIterable {
    case auto
    case cpu
    case cuda
}

/// Numeric policy of the CUDA backend (the CPU backend is always FP32).
public enum ComputePrecision: String, Sendable, CaseIterable {
    case fp16
    case fp32

    var cuda: CUDAPrecision { self == .fp16 ? .fp16 : .fp32 }
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
