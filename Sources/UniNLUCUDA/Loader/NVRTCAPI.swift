import CCUDA

// NVRTC entry points, from libnvrtc.so.13 (CUDA 13), .12, or the unversioned name.

struct NVRTCAPI: @unchecked Sendable {
    // @unchecked: immutable C function pointers.
    let library: DynamicLibrary
    let nvrtcVersion: PFN_nvrtcVersion
    let nvrtcGetErrorString: PFN_nvrtcGetErrorString
    let nvrtcCreateProgram: PFN_nvrtcCreateProgram
    let nvrtcDestroyProgram: PFN_nvrtcDestroyProgram
    let nvrtcCompileProgram: PFN_nvrtcCompileProgram
    let nvrtcGetProgramLogSize: PFN_nvrtcGetProgramLogSize
    let nvrtcGetProgramLog: PFN_nvrtcGetProgramLog
    let nvrtcGetCUBINSize: PFN_nvrtcGetCUBINSize
    let nvrtcGetCUBIN: PFN_nvrtcGetCUBIN

    static var candidates: [String] {
        var list = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"]
        // A pip-installed NVRTC (nvidia-cuda-nvrtc) is found through UNINLU_NVRTC_PATH.
        if let path = getenvString("UNINLU_NVRTC_PATH") { list.insert(path, at: 0) }
        return list
    }

    init() throws {
        let l = try DynamicLibrary(name: "libnvrtc (CUDA runtime compiler)", candidates: Self.candidates)
        library = l
        nvrtcVersion = try l.symbol("nvrtcVersion")
        nvrtcGetErrorString = try l.symbol("nvrtcGetErrorString")
        nvrtcCreateProgram = try l.symbol("nvrtcCreateProgram")
        nvrtcDestroyProgram = try l.symbol("nvrtcDestroyProgram")
        nvrtcCompileProgram = try l.symbol("nvrtcCompileProgram")
        nvrtcGetProgramLogSize = try l.symbol("nvrtcGetProgramLogSize")
        nvrtcGetProgramLog = try l.symbol("nvrtcGetProgramLog")
        nvrtcGetCUBINSize = try l.symbol("nvrtcGetCUBINSize")
        nvrtcGetCUBIN = try l.symbol("nvrtcGetCUBIN")
    }

    func check(_ result: nvrtcResult, _ call: @autoclosure () -> String) throws {
        guard result != 0 else { return }
        let message = nvrtcGetErrorString(result).map { String(cString: $0) } ?? "unknown NVRTC error"
        throw CUDAError.nvrtc(call: call(), code: result, message: message)
    }

    var version: (major: Int, minor: Int) {
        var major: Int32 = 0, minor: Int32 = 0
        _ = nvrtcVersion(&major, &minor)
        return (Int(major), Int(minor))
    }
}

func getenvString(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    let string = String(cString: value)
    return string.isEmpty ? nil : string
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
