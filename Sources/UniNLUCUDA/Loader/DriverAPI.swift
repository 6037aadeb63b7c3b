import CCUDA

// The driver API entry points UniNLU uses, resolved from libcuda.so.1 (versioned `_v2` names where
// cuda.h maps the plain name to them).

struct DriverAPI: @unchecked Sendable {
    // @unchecked: immutable C function pointers.
    let library: DynamicLibrary
    let cuInit: PFN_cuInit
    let cuDriverGetVersion: PFN_cuDriverGetVersion
    let cuGetErrorName: PFN_cuGetErrorName
    let cuGetErrorString: PFN_cuGetErrorString
    let cuDeviceGetCount: PFN_cuDeviceGetCount
    let cuDeviceGet: PFN_cuDeviceGet
    let cuDeviceGetName: PFN_cuDeviceGetName
    let cuDeviceGetAttribute: PFN_cuDeviceGetAttribute
    let cuDeviceTotalMem: PFN_cuDeviceTotalMem_v2
    let cuDevicePrimaryCtxRetain: PFN_cuDevicePrimaryCtxRetain
    let cuDevicePrimaryCtxRelease: PFN_cuDevicePrimaryCtxRelease_v2
    let cuCtxSetCurrent: PFN_cuCtxSetCurrent
    let cuCtxSynchronize: PFN_cuCtxSynchronize
    let cuMemGetInfo: PFN_cuMemGetInfo_v2
    let cuMemAlloc: PFN_cuMemAlloc_v2
    let cuMemFree: PFN_cuMemFree_v2
    let cuMemAllocHost: PFN_cuMemAllocHost_v2
    let cuMemFreeHost: PFN_cuMemFreeHost
    let cuMemcpyHtoDAsync: PFN_cuMemcpyHtoDAsync_v2
    let cuMemcpyDtoHAsync: PFN_cuMemcpyDtoHAsync_v2
    let cuMemcpyDtoDAsync: PFN_cuMemcpyDtoDAsync_v2
    let cuMemsetD8Async: PFN_cuMemsetD8Async
    let cuModuleLoadData: PFN_cuModuleLoadData
    let cuModuleUnload: PFN_cuModuleUnload
    let cuModuleGetFunction: PFN_cuModuleGetFunction
    let cuFuncSetAttribute: PFN_cuFuncSetAttribute
    let cuLaunchKernel: PFN_cuLaunchKernel
    let cuStreamCreate: PFN_cuStreamCreate
    let cuStreamDestroy: PFN_cuStreamDestroy_v2
    let cuStreamSynchronize: PFN_cuStreamSynchronize
    let cuEventCreate: PFN_cuEventCreate
    let cuEventDestroy: PFN_cuEventDestroy_v2
    let cuEventRecord: PFN_cuEventRecord
    let cuEventSynchronize: PFN_cuEventSynchronize
    let cuEventElapsedTime: PFN_cuEventElapsedTime
    let cuStreamBeginCapture: PFN_cuStreamBeginCapture_v2
    let cuStreamEndCapture: PFN_cuStreamEndCapture
    let cuGraphInstantiateWithFlags: PFN_cuGraphInstantiateWithFlags
    let cuGraphLaunch: PFN_cuGraphLaunch
    let cuGraphExecDestroy: PFN_cuGraphExecDestroy
    let cuGraphDestroy: PFN_cuGraphDestroy

    static let candidates = ["libcuda.so.1", "libcuda.so"]

    init() throws {
        let l = try DynamicLibrary(name: "libcuda (NVIDIA driver)", candidates: Self.candidates)
        library = l
        cuInit = try l.symbol("cuInit")
        cuDriverGetVersion = try l.symbol("cuDriverGetVersion")
        cuGetErrorName = try l.symbol("cuGetErrorName")
        cuGetErrorString = try l.symbol("cuGetErrorString")
        cuDeviceGetCount = try l.symbol("cuDeviceGetCount")
        cuDeviceGet = try l.symbol("cuDeviceGet")
        cuDeviceGetName = try l.symbol("cuDeviceGetName")
        cuDeviceGetAttribute = try l.symbol("cuDeviceGetAttribute")
        cuDeviceTotalMem = try l.symbol("cuDeviceTotalMem_v2")
        cuDevicePrimaryCtxRetain = try l.symbol("cuDevicePrimaryCtxRetain")
        cuDevicePrimaryCtxRelease = try l.symbol("cuDevicePrimaryCtxRelease_v2")
        cuCtxSetCurrent = try l.symbol("cuCtxSetCurrent")
        cuCtxSynchronize = try l.symbol("cuCtxSynchronize")
        cuMemGetInfo = try l.symbol("cuMemGetInfo_v2")
        cuMemAlloc = try l.symbol("cuMemAlloc_v2")
        cuMemFree = try l.symbol("cuMemFree_v2")
        cuMemAllocHost = try l.symbol("cuMemAllocHost_v2")
        cuMemFreeHost = try l.symbol("cuMemFreeHost")
        cuMemcpyHtoDAsync = try l.symbol("cuMemcpyHtoDAsync_v2")
        cuMemcpyDtoHAsync = try l.symbol("cuMemcpyDtoHAsync_v2")
        cuMemcpyDtoDAsync = try l.symbol("cuMemcpyDtoDAsync_v2")
        cuMemsetD8Async = try l.symbol("cuMemsetD8Async")
        cuModuleLoadData = try l.symbol("cuModuleLoadData")
        cuModuleUnload = try l.symbol("cuModuleUnload")
        cuModuleGetFunction = try l.symbol("cuModuleGetFunction")
        cuFuncSetAttribute = try l.symbol("cuFuncSetAttribute")
        cuLaunchKernel = try l.symbol("cuLaunchKernel")
        cuStreamCreate = try l.symbol("cuStreamCreate")
        cuStreamDestroy = try l.symbol("cuStreamDestroy_v2")
        cuStreamSynchronize = try l.symbol("cuStreamSynchronize")
        cuEventCreate = try l.symbol("cuEventCreate")
        cuEventDestroy = try l.symbol("cuEventDestroy_v2")
        cuEventRecord = try l.symbol("cuEventRecord")
        cuEventSynchronize = try l.symbol("cuEventSynchronize")
        cuEventElapsedTime = try l.optionalSymbol("cuEventElapsedTime_v2") ?? l.symbol("cuEventElapsedTime")
        cuStreamBeginCapture = try l.symbol("cuStreamBeginCapture_v2")
        cuStreamEndCapture = try l.symbol("cuStreamEndCapture")
        cuGraphInstantiateWithFlags = try l.symbol("cuGraphInstantiateWithFlags")
        cuGraphLaunch = try l.symbol("cuGraphLaunch")
        cuGraphExecDestroy = try l.symbol("cuGraphExecDestroy")
        cuGraphDestroy = try l.symbol("cuGraphDestroy")
    }

    /// Throws `CUDAError.driver` with cuGetErrorName's name unless `result` is CUDA_SUCCESS.
    func check(_ result: CUresult, _ call: @autoclosure () -> String) throws {
        guard result != UNINLU_CUDA_SUCCESS else { return }
        var name: UnsafePointer<CChar>?
        var text: UnsafePointer<CChar>?
        _ = cuGetErrorName(result, &name)
        _ = cuGetErrorString(result, &text)
        throw CUDAError.driver(
            call: call(), code: result, name: name.map { String(cString: $0) } ?? "CUDA_ERROR_UNKNOWN(\(result))",
            message: text.map { String(cString: $0) } ?? "no description")
    }
}
