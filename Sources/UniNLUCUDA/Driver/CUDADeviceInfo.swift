// What the driver says about one GPU, and what the engine needs of it.

public struct CUDADeviceInfo: Sendable, Equatable {
    public var ordinal: Int
    public var name: String
    public var computeCapability: (major: Int, minor: Int)
    public var totalMemoryBytes: Int
    public var multiprocessorCount: Int
    public var l2CacheBytes: Int
    public var maxSharedMemoryPerBlockOptin: Int
    /// cuDriverGetVersion: 13000 = CUDA 13.0.
    public var driverVersion: Int

    public static func == (a: CUDADeviceInfo, b: CUDADeviceInfo) -> Bool {
        a.ordinal == b.ordinal && a.name == b.name && a.computeCapability == b.computeCapability
            && a.totalMemoryBytes == b.totalMemoryBytes
    }

    /// "sm_90" for compute capability 9.0: the NVRTC target and the plan-file architecture tag.
    public var architecture: String { "sm_\(computeCapability.major)\(computeCapability.minor)" }
    public var driverVersionString: String { "\(driverVersion / 1000).\((driverVersion % 1000) / 10)" }
    /// FP16 tensor-core GEMMs need compute capability 7.0 or newer; FP32 runs on anything NVRTC targets.
    public var supportsFP16: Bool { computeCapability.major >= 7 }
}
