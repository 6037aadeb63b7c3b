import CCUDA

// One kernel parameter as cuLaunchKernel takes it (a pointer to the value).

public enum KernelArgument {
    case pointer(CUdeviceptr)
    case int32(Int32)
    case int64(Int64)
    case float(Float)

    /// The 8 parameter bytes as cuLaunchKernel reads them (for comparing launches).
    var bits: UInt64 {
        switch self {
        case let .pointer(p): return UInt64(p)
        case let .int32(v): return UInt64(UInt32(bitPattern: v))
        case let .int64(v): return UInt64(bitPattern: v)
        case let .float(v): return UInt64(v.bitPattern)
        }
    }

    /// Calls `body` with the `void**` parameter array cuLaunchKernel expects.
    static func withParameterArray<R>(_ arguments: [KernelArgument], _ body: (UnsafeMutablePointer<UnsafeMutableRawPointer?>) throws -> R) rethrows -> R {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(arguments.count, 1) * 8, alignment: 8)
        defer { storage.deallocate() }
        let pointers = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(arguments.count, 1))
        defer { pointers.deallocate() }
        for (i, argument) in arguments.enumerated() {
            let slot = storage + i * 8
            switch argument {
            case let .pointer(p): slot.storeBytes(of: p, as: CUdeviceptr.self)
            case let .int32(v): slot.storeBytes(of: v, as: Int32.self)
            case let .int64(v): slot.storeBytes(of: v, as: Int64.self)
            case let .float(v): slot.storeBytes(of: v, as: Float.self)
            }
            pointers[i] = slot
        }
        return try body(pointers)
    }
}
