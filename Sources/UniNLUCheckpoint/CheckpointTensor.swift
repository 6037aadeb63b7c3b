// One tensor read from a checkpoint: its name, element type, shape and contiguous row-major
// little-endian bytes (usually a slice of the memory-mapped file), with conversions to Swift
// arrays.

import Foundation

public struct CheckpointTensor: Sendable {
    public let name: String
    public let dtype: TensorDType
    public let shape: [Int]
    /// Exactly `elementCount * dtype.byteSize` bytes, row-major, little-endian. Its indices need
    /// not start at 0 (it may be a slice): read it with `withUnsafeBytes`.
    public let data: Data
    /// Path of the checkpoint, for error messages.
    public let file: String
    /// Set when the stored bytes are a block-quantized encoding of float values (`dtype` is then
    /// `.uint8` and `shape` the stored block shape); `floats()` dequantizes and `logicalShape` is
    /// the shape of the floats. See WeightQuantization.swift.
    public let quantization: WeightQuantization?

    /// Stored elements (bytes, for a quantized tensor).
    public var elementCount: Int { data.count / dtype.byteSize }

    /// The shape of `floats()`: `shape`, except for a quantized tensor, whose last two stored
    /// dimensions [blocks, bytes per block] become one of blocks × values per block.
    public var logicalShape: [Int] {
        guard let quantization else { return shape }
        return quantization.logicalShape(stored: shape)
    }

    init(name: String, dtype: TensorDType, shape: [Int], data: Data, file: String,
         quantization: WeightQuantization? = nil) throws {
        let expected = checkedElementCount(shape)?.multipliedReportingOverflow(by: dtype.byteSize)
        guard let expected, !expected.overflow, expected.partialValue == data.count else {
            throw CheckpointError.invalidTensor(
                file: file, tensor: name, reason: "\(bytesText(data.count)) of data do not match shape \(shape) of \(dtype.rawValue)")
        }
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.data = data
        self.file = file
        self.quantization = quantization
    }

    /// The values as Float32, row-major. FP16/BF16/FP64 and integers are converted (integers
    /// beyond 2^24 lose precision, as in `tensor.float()`).
    public func floats() throws -> [Float] {
        if let quantization { return data.withUnsafeBytes { quantization.dequantize($0) } }
        let count = elementCount
        let dtype = self.dtype
        return data.withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                switch dtype {
                case .float32:
                    if isLittleEndianHost, let source = raw.baseAddress, let target = buffer.baseAddress {
                        UnsafeMutableRawPointer(target).copyMemory(from: source, byteCount: count * 4)
                    } else {
                        for i in 0 ..< count { buffer[i] = Float(bitPattern: raw.le(UInt32.self, i)) }
                    }
                case .float16:
                    for i in 0 ..< count { buffer[i] = floatFromHalf(raw.le(UInt16.self, i)) }
                case .bfloat16:
                    // bfloat16 is the top half of a float32.
                    for i in 0 ..< count { buffer[i] = Float(bitPattern: UInt32(raw.le(UInt16.self, i)) << 16) }
                case .float64:
                    for i in 0 ..< count { buffer[i] = Float(Double(bitPattern: raw.le(UInt64.self, i))) }
                case .int64:
                    for i in 0 ..< count { buffer[i] = Float(Int64(bitPattern: raw.le(UInt64.self, i))) }
                case .int32:
                    for i in 0 ..< count { buffer[i] = Float(Int32(bitPattern: raw.le(UInt32.self, i))) }
                case .int16:
                    for i in 0 ..< count { buffer[i] = Float(Int16(bitPattern: raw.le(UInt16.self, i))) }
                case .int8:
                    for i in 0 ..< count { buffer[i] = Float(Int8(bitPattern: raw[i])) }
                case .uint8:
                    for i in 0 ..< count { buffer[i] = Float(raw[i]) }
                case .bool:
                    for i in 0 ..< count { buffer[i] = raw[i] == 0 ? 0 : 1 }
                }
                initialized = count
            }
        }
    }

    /// The values of an integer (or bool) tensor as Int64, e.g. `position_ids`. Floating-point
    /// tensors throw `.wrongDType` rather than being truncated.
    public func int64s() throws -> [Int64] {
        let count = elementCount
        let dtype = self.dtype
        guard !dtype.isFloatingPoint else {
            throw CheckpointError.wrongDType(file: file, tensor: name, dtype: dtype, expected: "integer")
        }
        return data.withUnsafeBytes { raw in
            (0 ..< count).map { i -> Int64 in
                switch dtype {
                case .int64: return Int64(bitPattern: raw.le(UInt64.self, i))
                case .int32: return Int64(Int32(bitPattern: raw.le(UInt32.self, i)))
                case .int16: return Int64(Int16(bitPattern: raw.le(UInt16.self, i)))
                case .int8: return Int64(Int8(bitPattern: raw[i]))
                case .uint8: return Int64(raw[i])
                case .bool: return raw[i] == 0 ? 0 : 1
                case .float64, .float32, .float16, .bfloat16: return 0  // excluded above
                }
            }
        }
    }
}

private let isLittleEndianHost = 1.littleEndian == 1

extension UnsafeRawBufferPointer {
    /// Element `index` of a packed little-endian array. Callers stay within `count / size`.
    fileprivate func le<T: FixedWidthInteger>(_ type: T.Type, _ index: Int) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: index * MemoryLayout<T>.size, as: T.self))
    }
}

/// IEEE 754 binary16 -> binary32, exact for every value (subnormals, infinities, NaN payloads).
/// Written out because `Float16` is unavailable on some Apple platforms.
func floatFromHalf(_ bits: UInt16) -> Float {
    let sign = UInt32(bits & 0x8000) << 16
    let exponent = UInt32(bits >> 10) & 0x1F
    let mantissa = UInt32(bits & 0x3FF)
    switch exponent {
    case 0:
        // Zero or subnormal: mantissa * 2^-24, exact in float32.
        let magnitude = Float(mantissa) * 0x1p-24
        return sign == 0 ? magnitude : -magnitude
    case 0x1F:
        return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
    default:
        return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
    }
}
