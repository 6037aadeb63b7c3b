import CCUDA

// One GPU's primary context and the engine's one stream, with checked wrappers for memory, copies,
// modules, launches and events. Every call is made from the engine's model thread; `makeCurrent`
// binds the context to whichever thread the serial queue runs on.

public final class CUDAContext: @unchecked Sendable {
    // @unchecked: used only from the owning model thread (a serial queue); the handles are immutable.
    let driver: DriverAPI
    public let info: CUDADeviceInfo
    let device: CUdevice
    let context: CUcontext
    let stream: CUstream
    /// Set while a replayable forward is dry-run, captured or patched (StreamRecorder.swift).
    var recorder: StreamRecorder?

    /// Loads libcuda, initialises the driver and opens device `ordinal` (primary context, one
    /// non-blocking stream).
    public init(ordinal: Int = 0) throws {
        let driver = try CUDADriver.shared()
        self.driver = driver
        let info = try CUDADriver.deviceInfo(driver, ordinal: ordinal)
        self.info = info
        var device: CUdevice = 0
        try driver.check(driver.cuDeviceGet(&device, Int32(ordinal)), "cuDeviceGet(\(ordinal))")
        self.device = device
        var context: CUcontext?
        try driver.check(driver.cuDevicePrimaryCtxRetain(&context, device), "cuDevicePrimaryCtxRetain")
        guard let context else { throw CUDAError.noDevice }
        self.context = context
        try driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
        var stream: CUstream?
        do {
            try driver.check(driver.cuStreamCreate(&stream, UInt32(UNINLU_CU_STREAM_NON_BLOCKING)), "cuStreamCreate")
        } catch {
            _ = driver.cuDevicePrimaryCtxRelease(device)
            throw error
        }
        self.stream = stream!
    }

    deinit {
        _ = driver.cuCtxSetCurrent(context)
        _ = driver.cuStreamSynchronize(stream)
        _ = driver.cuStreamDestroy(stream)
        _ = driver.cuDevicePrimaryCtxRelease(device)
    }

    public func makeCurrent() throws {
        try driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent")
    }

    public func synchronize() throws {
        try recorder?.refuse("a stream synchronization")
        try driver.check(driver.cuStreamSynchronize(stream), "cuStreamSynchronize")
    }

    public func memoryInfo() throws -> (free: Int, total: Int) {
        var free = 0, total = 0
        try driver.check(driver.cuMemGetInfo(&free, &total), "cuMemGetInfo")
        return (free, total)
    }

    func allocate(bytes: Int) throws -> CUdeviceptr {
        var pointer: CUdeviceptr = 0
        let result = driver.cuMemAlloc(&pointer, max(bytes, 1))
        if result == 2 {  // CUDA_ERROR_OUT_OF_MEMORY
            let free = (try? memoryInfo().free) ?? 0
            throw CUDAError.outOfMemory(requestedBytes: bytes, freeBytes: free)
        }
        try driver.check(result, "cuMemAlloc(\(bytes))")
        return pointer
    }

    func free(_ pointer: CUdeviceptr) {
        _ = driver.cuMemFree(pointer)
    }

    /// Copies host bytes to the device in stream order. From pageable memory the driver stages the
    /// bytes before returning, so the source may be released afterwards.
    func copy(toDevice destination: CUdeviceptr, from source: UnsafeRawPointer, bytes: Int) throws {
        guard bytes > 0 else { return }
        try recorder?.directUpload(bytes: bytes)
        try issueUpload(destination, from: source, bytes: bytes)
    }

    /// The upload itself, for staging under capture (its source is the graph's pinned slot).
    func issueUpload(_ destination: CUdeviceptr, from source: UnsafeRawPointer, bytes: Int) throws {
        try driver.check(driver.cuMemcpyHtoDAsync(destination, source, bytes, stream), "cuMemcpyHtoDAsync(\(bytes))")
    }

    /// Copies device bytes to the host and waits for them.
    func copy(toHost destination: UnsafeMutableRawPointer, from source: CUdeviceptr, bytes: Int) throws {
        guard bytes > 0 else { return }
        try recorder?.refuse("a download")
        try driver.check(driver.cuMemcpyDtoHAsync(destination, source, bytes, stream), "cuMemcpyDtoHAsync(\(bytes))")
        try synchronize()
    }

    func copy(deviceTo destination: CUdeviceptr, from source: CUdeviceptr, bytes: Int) throws {
        guard bytes > 0 else { return }
        if let recorder, try recorder.intercept(.copy(destination: destination, source: source, bytes: bytes)) { return }
        try driver.check(driver.cuMemcpyDtoDAsync(destination, source, bytes, stream), "cuMemcpyDtoDAsync(\(bytes))")
    }

    func fill(_ destination: CUdeviceptr, byte: UInt8, bytes: Int) throws {
        if let recorder, try recorder.intercept(.fill(destination: destination, byte: byte, bytes: bytes)) { return }
        try driver.check(driver.cuMemsetD8Async(destination, byte, bytes, stream), "cuMemsetD8Async")
    }

    func loadModule(image: [UInt8]) throws -> CUmodule {
        var module: CUmodule?
        try image.withUnsafeBytes { raw in
            try driver.check(driver.cuModuleLoadData(&module, raw.baseAddress!), "cuModuleLoadData")
        }
        return module!
    }

    func function(_ module: CUmodule, named name: String) throws -> CUfunction {
        var function: CUfunction?
        try driver.check(driver.cuModuleGetFunction(&function, module, name), "cuModuleGetFunction(\(name))")
        return function!
    }

    func setMaxDynamicSharedMemory(_ function: CUfunction, bytes: Int) throws {
        try driver.check(
            driver.cuFuncSetAttribute(function, Int32(UNINLU_CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES), Int32(bytes)),
            "cuFuncSetAttribute(max dynamic shared \(bytes))")
    }

    func launch(_ function: CUfunction, name: String, grid: (Int, Int, Int), block: (Int, Int, Int), sharedBytes: Int = 0,
                _ arguments: [KernelArgument]) throws {
        guard grid.0 > 0, grid.1 > 0, grid.2 > 0 else { return }
        if let recorder,
           try recorder.intercept(.launch(function: UInt(bitPattern: function), grid: [grid.0, grid.1, grid.2], block: [block.0, block.1, block.2],
                                          sharedBytes: sharedBytes, arguments: arguments.map(\.bits))) { return }
        try KernelArgument.withParameterArray(arguments) { parameters in
            try driver.check(
                driver.cuLaunchKernel(
                    function, UInt32(grid.0), UInt32(grid.1), UInt32(grid.2), UInt32(block.0), UInt32(block.1), UInt32(block.2),
                    UInt32(sharedBytes), stream, parameters, nil),
                "cuLaunchKernel(\(name), grid \(grid), block \(block), shared \(sharedBytes))")
        }
    }

    // MARK: events

    public final class Event {
        let context: CUDAContext
        let event: CUevent
        init(_ context: CUDAContext) throws {
            self.context = context
            var event: CUevent?
            try context.driver.check(context.driver.cuEventCreate(&event, UInt32(UNINLU_CU_EVENT_DEFAULT)), "cuEventCreate")
            self.event = event!
        }
        deinit { _ = context.driver.cuEventDestroy(event) }
        public func record() throws { try context.driver.check(context.driver.cuEventRecord(event, context.stream), "cuEventRecord") }
        public func synchronize() throws { try context.driver.check(context.driver.cuEventSynchronize(event), "cuEventSynchronize") }
        /// Milliseconds between `start` and this event (both recorded and complete).
        public func milliseconds(since start: Event) throws -> Double {
            var ms: Float = 0
            try context.driver.check(context.driver.cuEventElapsedTime(&ms, start.event, event), "cuEventElapsedTime")
            return Double(ms)
        }
    }

    public func makeEvent() throws -> Event { try Event(self) }

    // MARK: pinned host memory

    func allocatePinned(bytes: Int) throws -> UnsafeMutableRawPointer {
        var pointer: UnsafeMutableRawPointer?
        try driver.check(driver.cuMemAllocHost(&pointer, bytes), "cuMemAllocHost(\(bytes))")
        return pointer!
    }

    func freePinned(_ pointer: UnsafeMutableRawPointer) { _ = driver.cuMemFreeHost(pointer) }
}
