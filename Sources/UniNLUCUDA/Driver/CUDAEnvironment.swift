// What `uninlu doctor` and `--backend auto` need to know about CUDA on this machine, gathered
// without opening a context: driver, device, NVRTC and cuBLASLt, each either found or the reason not.

public struct CUDAEnvironment: Sendable {
    public var device: CUDADeviceInfo?
    public var nvrtcVersion: String?
    public var cublasLtVersion: String?
    /// Why the engine cannot run here (first blocking problem), nil when it can.
    public var problem: String?
    public var libraryPaths: [String: String]

    public var canRun: Bool { problem == nil }
    public var precisions: [CUDAPrecision] {
        guard let device else { return [] }
        return device.supportsFP16 ? [.fp16, .fp32] : [.fp32]
    }

    public static func probe() -> CUDAEnvironment {
        var env = CUDAEnvironment(device: nil, nvrtcVersion: nil, cublasLtVersion: nil, problem: nil, libraryPaths: [:])
        do {
            let driver = try CUDADriver.shared()
            env.libraryPaths["cuda"] = driver.library.path
            env.device = try CUDADriver.deviceInfo(ordinal: 0)
        } catch {
            env.problem = "\(error)"
        }
        do {
            let compiler = try KernelCompiler()
            let v = compiler.version
            env.nvrtcVersion = "\(v.major).\(v.minor)"
            env.libraryPaths["nvrtc"] = compiler.api.library.path
        } catch {
            if env.problem == nil { env.problem = "\(error)" }
        }
        do {
            let blas = try BLASLtAPI.loadShared()
            env.cublasLtVersion = blas.versionString
            env.libraryPaths["cublasLt"] = blas.library.path
        } catch {
            if env.problem == nil { env.problem = "\(error)" }
        }
        if let device = env.device, device.computeCapability.major < 7, env.problem == nil {
            env.problem = "compute capability \(device.computeCapability.major).\(device.computeCapability.minor) is older than 7.0"
        }
        return env
    }
}

public enum CUDAPrecision: String, Sendable, CaseIterable {
    case fp16
    case fp32

    var elementSize: Int { self == .fp16 ? 2 : 4 }
}
