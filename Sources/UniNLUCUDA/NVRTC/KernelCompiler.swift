import CCUDA

// Compiles CUDA C to a cubin for one architecture with NVRTC (`--gpu-architecture=sm_XY` from the
// device's compute capability), so kernels run as native code with no PTX JIT at load.

public final class KernelCompiler: @unchecked Sendable {
    // @unchecked: NVRTC programs are created and destroyed inside one call; the API table is immutable.
    let api: NVRTCAPI

    private static let loaded: Result<NVRTCAPI, CUDAError> = {
        do { return .success(try NVRTCAPI()) } catch let error as CUDAError { return .failure(error) } catch {
            return .failure(.unsupported(op: "nvrtc", detail: "\(error)"))
        }
    }()

    public init() throws { api = try Self.loaded.get() }

    public var version: (major: Int, minor: Int) { api.version }

    /// The cubin for `architecture` ("sm_90"). Throws `.compilation` with NVRTC's log on a compile error.
    public func compile(source: String, name: String, architecture: String, extraOptions: [String] = []) throws -> [UInt8] {
        var program: nvrtcProgram?
        try api.check(api.nvrtcCreateProgram(&program, source, name, 0, nil, nil), "nvrtcCreateProgram")
        defer { _ = api.nvrtcDestroyProgram(&program) }
        let options = ["--gpu-architecture=\(architecture)", "--std=c++17", "-default-device"] + extraOptions
        let cOptions = options.map { strdup($0) }
        defer { cOptions.forEach { Foundation_free($0) } }
        let result = cOptions.map { UnsafePointer($0) }.withUnsafeBufferPointer { buffer in
            api.nvrtcCompileProgram(program, Int32(buffer.count), buffer.baseAddress)
        }
        let log = programLog(program)
        guard result == 0 else {
            throw CUDAError.compilation(log: log.isEmpty ? (api.nvrtcGetErrorString(result).map { String(cString: $0) } ?? "error \(result)") : log)
        }
        var size = 0
        try api.check(api.nvrtcGetCUBINSize(program, &size), "nvrtcGetCUBINSize")
        guard size > 0 else { throw CUDAError.compilation(log: "NVRTC produced no cubin for \(architecture)") }
        var cubin = [UInt8](repeating: 0, count: size)
        try cubin.withUnsafeMutableBytes { raw in
            try api.check(api.nvrtcGetCUBIN(program, raw.baseAddress!.assumingMemoryBound(to: CChar.self)), "nvrtcGetCUBIN")
        }
        return cubin
    }

    private func programLog(_ program: nvrtcProgram?) -> String {
        var size = 0
        guard api.nvrtcGetProgramLogSize(program, &size) == 0, size > 1 else { return "" }
        var buffer = [CChar](repeating: 0, count: size)
        guard api.nvrtcGetProgramLog(program, &buffer) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

#if canImport(Glibc)
import Glibc
private func Foundation_free(_ pointer: UnsafeMutablePointer<CChar>?) { Glibc.free(pointer) }
#elseif canImport(Musl)
import Musl
private func Foundation_free(_ pointer: UnsafeMutablePointer<CChar>?) { Musl.free(pointer) }
#elseif canImport(Darwin)
import Darwin
private func Foundation_free(_ pointer: UnsafeMutablePointer<CChar>?) { Darwin.free(pointer) }
#endif
