// Q4_0 weights in safetensors (WeightQuantization.swift, docs/model-formats.md): hand-computed
// blocks dequantize exactly, and every malformed file is refused with a message that says why.

import Foundation
import Testing
@testable import UniNLUCheckpoint

@Suite struct QuantizedWeightsTests {
    static let q4Metadata = ["format": "pt", "uninlu.weights": "q4_0"]

    /// One 18-byte block: the fp16 scale's bits, then 16 bytes of nibbles.
    static func block(scale: UInt16, _ q: [UInt8]) -> [UInt8] {
        precondition(q.count == 16)
        return [UInt8(scale & 0xFF), UInt8(scale >> 8)] + q
    }

    /// d = 0.5 (0x3800); q[j] = j | (15 - j) << 4, so x[j] = (j - 8) / 2 and x[j + 16] = (7 - j) / 2.
    static let halfScaleBlock = block(scale: 0x3800, (0..<16).map { UInt8($0) | UInt8(15 - $0) << 4 })
    static let halfScaleValues: [Float] = [
        -4, -3.5, -3, -2.5, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5,
        3.5, 3, 2.5, 2, 1.5, 1, 0.5, 0, -0.5, -1, -1.5, -2, -2.5, -3, -3.5, -4,
    ]
    /// d = -2 (0xC000): q[0] = 0xF0 (low 0, high 15), the rest 0x18 (low 8, high 1).
    static let negativeScaleBlock = block(scale: 0xC000, [0xF0] + [UInt8](repeating: 0x18, count: 15))
    static let negativeScaleValues: [Float] = [16] + [Float](repeating: 0, count: 15) + [-14] + [Float](repeating: 14, count: 15)
    /// d = 0: every value is zero whatever the nibbles.
    static let zeroScaleBlock = block(scale: 0x0000, [UInt8](repeating: 0xF0, count: 16))
    /// d = 2^-24, the smallest fp16 subnormal (0x0001): q[j] = 0x0F, so x[j] = 7·2^-24, x[j + 16] = -8·2^-24.
    static let subnormalScaleBlock = block(scale: 0x0001, [UInt8](repeating: 0x0F, count: 16))
    static let subnormalScaleValues = [Float](repeating: 7 * 0x1p-24, count: 16) + [Float](repeating: -8 * 0x1p-24, count: 16)

    private func open(_ tensors: [SafetensorsTensor], metadata: [String: String] = q4Metadata) throws -> (TensorStore, ScratchDirectory) {
        let scratch = try ScratchDirectory()
        let url = try scratch.write(makeSafetensors(tensors, metadata: metadata), to: "model.safetensors")
        return (TensorStore(try Checkpoint.open(file: url)), scratch)
    }

    private static let sampleTensors = [
        SafetensorsTensor(name: "a.weight", dtype: "U8", shape: [2, 1, 18], bytes: halfScaleBlock + negativeScaleBlock),
        SafetensorsTensor(name: "b.weight", dtype: "U8", shape: [1, 2, 18], bytes: zeroScaleBlock + subnormalScaleBlock),
        SafetensorsTensor(name: "a.bias", dtype: "F32", shape: [2], bytes: littleEndianBytes([0.25, -1] as [Float])),
    ]

    @Test("hand-computed Q4_0 blocks dequantize exactly: positive, negative, zero and subnormal scales")
    func handComputedBlocks() throws {
        let (store, scratch) = try open(Self.sampleTensors)
        defer { scratch.remove() }
        #expect(try store.take("a.weight", shape: [2, 32]) == Self.halfScaleValues + Self.negativeScaleValues)
        let b = try store.take("b.weight", shape: [1, 64])
        #expect(b == [Float](repeating: 0, count: 32) + Self.subnormalScaleValues)
        #expect(try store.take("a.bias", shape: [2]) == [0.25, -1])  // float tensors of the same file load as before
        try store.finish()
    }

    @Test("the raw tensor reports its stored and its float shape")
    func shapes() throws {
        let (store, scratch) = try open(Self.sampleTensors)
        defer { scratch.remove() }
        let tensor = try #require(try store.reader.tensor(named: "b.weight"))
        #expect(tensor.quantization == .q4_0 && tensor.dtype == .uint8)
        #expect(tensor.shape == [1, 2, 18] && tensor.logicalShape == [1, 64])
        #expect(WeightQuantization.q4_0.storedShape(logical: [768, 3072]) == [768, 96, 18])
        #expect(WeightQuantization.q4_0.storedShape(logical: [768, 100]) == nil)
    }

    @Test("a float shape the Q4_0 tensor does not have is a mismatch that names both shapes")
    func columnsDoNotMatch() throws {
        let (store, scratch) = try open(Self.sampleTensors)
        defer { scratch.remove() }
        store.ignore("b.weight", "a.bias")
        let placeholder = try store.take("a.weight", shape: [2, 64])
        #expect(placeholder.count == 128)
        let error = #expect(throws: CheckpointError.self) { try store.finish() }
        guard case let .quantizedShapeMismatch(_, name, scheme, expected, stored)? = error else {
            Issue.record("\(String(describing: error))"); return
        }
        #expect(name == "a.weight" && scheme == "q4_0" && expected == [2, 64] && stored == [2, 1, 18])
        #expect(error?.detail == "q4_0 tensor 'a.weight' is stored as U8 [2, 1, 18], i.e. float shape [2, 32], but the model expects [2, 64], which would be stored as [2, 2, 18]. The model's config.json does not match these weights.")
    }

    @Test("a U8 weight in a file without the q4_0 metadata is refused")
    func byteTensorWithoutMetadata() throws {
        let (store, scratch) = try open(Self.sampleTensors, metadata: ["format": "pt"])
        defer { scratch.remove() }
        let error = #expect(throws: CheckpointError.self) { _ = try store.take("a.weight", shape: [2, 32]) }
        guard case let .unquantizedByteTensor(_, tensor, shape)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(tensor == "a.weight" && shape == [2, 1, 18])
        #expect(error?.description.contains(#"does not say "uninlu.weights": "q4_0""#) == true)
    }

    @Test("a U8 tensor without the 18-byte block shape is refused when the file opens", arguments: [
        ([2, 1, 16], "its last dimension is 16, but a q4_0 block is 18 bytes"),
        ([36], "it is stored as U8 [36]"),
    ])
    func wrongBlockShape(shape: [Int], message: String) throws {
        let data = makeSafetensors([SafetensorsTensor(name: "w", dtype: "U8", shape: shape, bytes: [UInt8](repeating: 0, count: shape.reduce(1, *)))],
                                   metadata: Self.q4Metadata)
        let error = try openError(data, name: "model.safetensors")
        guard case let .invalidQuantizedTensor(_, tensor, scheme, reason)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(tensor == "w" && scheme == "q4_0")
        #expect(reason.hasPrefix(message), "\(reason)")
    }

    @Test("an unknown weight encoding in the metadata is refused by name")
    func unknownEncoding() throws {
        let data = makeSafetensors([SafetensorsTensor(name: "w", dtype: "U8", shape: [1, 1, 18], bytes: Self.halfScaleBlock)],
                                   metadata: ["uninlu.weights": "q8_0"])
        let error = try openError(data, name: "model.safetensors")
        #expect(error == .unsupportedQuantization(file: error?.file ?? "", scheme: "q8_0"))
        #expect(error?.detail.contains(#""uninlu.weights": "q8_0""#) == true)
    }
}
