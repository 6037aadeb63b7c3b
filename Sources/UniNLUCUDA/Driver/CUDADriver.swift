import CCUDA

// Process-wide driver loading: libcuda is opened and cuInit called once; later callers get the same
// API table or the same error. `probe()` reports what this machine has without opening a context.

public enum CUDADriver {
    private static let loaded: Result<DriverAPI, CUDAError> = {
        do {
            let api = try DriverAPI()
            try api.check(api.cuInit(0), "cuInit")
            return .success(api)
        } catch let error as CUDAError {
            return .failure(error)
        } catch {
            return .failure(.unsupported(op: "driver", detail: "\(error)"))
        }
    }()

    static func shared() throws -> DriverAPI { try loaded.get() }

    /// Whether a usable GPU is present: libcuda loads, cuInit succeeds and at least one device exists.
    public static var isAvailable: Bool { (try? deviceCount()).map { $0 > 0 } ?? false }

    public static func deviceCount() throws -> Int {
        let api = try shared()
        var count: Int32 = 0
        let result = api.cuDeviceGetCount(&count)
        if result == UNINLU_CUDA_ERROR_NO_DEVICE { return 0 }
        try api.check(result, "cuDeviceGetCount")
        return Int(count)
    }

    public static func deviceInfo(ordinal: Int = 0) throws -> CUDADeviceInfo {
        try deviceInfo(shared(), ordinal: ordinal)
    }

    static func deviceInfo(_ api: DriverAPI, ordinal: Int) throws -> CUDADeviceInfo {
        var count: Int32 = 0
        let countResult = api.cuDeviceGetCount(&count)
        if countResult == UNINLU_CUDA_ERROR_NO_DEVICE { throw CUDAError.noDevice }
        try api.check(countResult, "cuDeviceGetCount")
        guard ordinal < Int(count) else { throw CUDAError.noDevice }
        var device: CUdevice = 0
        try api.check(api.cuDeviceGet(&device, Int32(ordinal)), "cuDeviceGet")
        var nameBuffer = [CChar](repeating: 0, count: 256)
        try api.check(api.cuDeviceGetName(&nameBuffer, 255, device), "cuDeviceGetName")
        func attribute(_ id: Int32) throws -> Int {
            var value: Int32 = 0
            try api.check(api.cuDeviceGetAttribute(&value, id, device), "cuDeviceGetAttribute(\(id))")
            return Int(value)
        }
        var total = 0
        try api.check(api.cuDeviceTotalMem(&total, device), "cuDeviceTotalMem")
        var version: Int32 = 0
        try api.check(api.cuDriverGetVersion(&version), "cuDriverGetVersion")
        let nameBytes = nameBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return CUDADeviceInfo(
            ordinal: ordinal, name: String(decoding: nameBytes, as: UTF8.self),
            computeCapability: (try attribute(UNINLU_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                                try attribute(UNINLU_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)),
            totalMemoryBytes: total,
            multiprocessorCount: try attribute(UNINLU_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT),
            l2CacheBytes: try attribute(UNINLU_CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE),
            maxSharedMemoryPerBlockOptin: try attribute(UNINLU_CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN),
            driverVersion: Int(version))
    }
}
