// safetensors: reading every supported dtype, and refusing each kind of broken header with a
// message that names the file and the problem.

import Foundation
import Testing
@testable import UniNLUCheckpoint

@Suite struct SafetensorsFileTests {
    private let good: [SafetensorsTensor] = [
        SafetensorsTensor(name: "w", dtype: "F32", shape: [2, 2], bytes: littleEndianBytes([1, -2, 3.5, 4] as [Float])),
        // 1, -2, 65504, 2^-24 (smallest subnormal) as IEEE half.
        SafetensorsTensor(name: "h", dtype: "F16", shape: [4], bytes: littleEndianBytes([0x3C00, 0xC000, 0x7BFF, 0x0001] as [UInt16])),
        // 1, -0.5, 3 as bfloat16 (top half of float32).
        SafetensorsTensor(name: "b", dtype: "BF16", shape: [3], bytes: littleEndianBytes([0x3F80, 0xBF00, 0x4040] as [UInt16])),
        SafetensorsTensor(name: "ids", dtype: "I64", shape: [1, 3], bytes: littleEndianBytes([0, 1, -5] as [Int64])),
        SafetensorsTensor(name: "none", dtype: "F32", shape: [0, 4], bytes: []),
    ]

    @Test func readsEveryTensor() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let url = try scratch.write(makeSafetensors(good), to: "model.safetensors")
        let file = try SafetensorsFile(url: url)
        #expect(file.tensorNames == ["w", "h", "b", "ids", "none"])
        #expect(file.metadata == ["format": "pt"])
        #expect(try file.tensor(named: "w").floats() == [1, -2, 3.5, 4])
        #expect(try file.tensor(named: "h").floats() == [1, -2, 65504, 0x1p-24])
        #expect(try file.tensor(named: "b").floats() == [1, -0.5, 3])
        #expect(try file.tensor(named: "b").dtype == .bfloat16)
        #expect(try file.tensor(named: "ids").int64s() == [0, 1, -5])
        #expect(try file.tensor(named: "ids").shape == [1, 3])
        #expect(try file.tensor(named: "none").floats() == [])
        // Header padded with spaces, as the format allows.
        let padded = try scratch.write(makeSafetensors(good, header: nil).paddedHeader(by: 5), to: "padded.safetensors")
        #expect(try SafetensorsFile(url: padded).tensor(named: "w").floats() == [1, -2, 3.5, 4])
    }

    @Test func halfPrecisionConversionIsExactForEveryValue() {
        // Compare with Swift's own Float16 where the platform has it.
        #if !(os(macOS) && arch(x86_64))
        for bits in UInt16.min ... UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let actual = floatFromHalf(bits)
            #expect(actual.bitPattern == expected.bitPattern || (actual.isNaN && expected.isNaN), "\(bits)")
        }
        #endif
    }

    private func expectCorrupt(_ data: Data, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let error = try openError(data, name: "model.safetensors", sourceLocation: sourceLocation)
        #expect(error?.description.contains(fragment) == true, "\(String(describing: error))", sourceLocation: sourceLocation)
    }

    @Test func headerLengthBeyondTheFile() throws {
        try expectCorrupt(makeSafetensors(good, headerLength: 1 << 40), "only")
        try expectCorrupt(makeSafetensors(good, headerLength: 0), "header length 0")
        try expectCorrupt(Data([1, 2, 3]), "only 3 bytes")
        try expectCorrupt(Data(), "only 0 bytes")
    }

    @Test func corruptedHeader() throws {
        try expectCorrupt(makeSafetensors([], header: "{\"w\": {\"dtype\": \"F32\", "), "not valid JSON")
        try expectCorrupt(makeSafetensors([], header: "[1, 2]"), "JSON array, not an object")
        try expectCorrupt(makeSafetensors([], header: "{\"__metadata__\": {\"a\": 1}}"), "__metadata__['a'] is not a string")
        try expectCorrupt(makeSafetensors([], header: "{\"w\": 3}"), "tensor 'w' is invalid: its header entry is a JSON number")
        try expectCorrupt(makeSafetensors([], header: "{\"w\": {\"shape\": [], \"data_offsets\": [0, 0]}}"), "no string 'dtype'")
        // Bytes that are not UTF-8 inside the header.
        var bad = makeSafetensors(good)
        bad[12] = 0xFF
        _ = try openError(bad, name: "model.safetensors")
    }

    @Test func offsetsOutOfRange() throws {
        var tensors = good
        tensors[0].offsets = [0, 1_000_000]
        try expectCorrupt(makeSafetensors(tensors), "tensor 'w' ends at byte 1000000 of the data section, but only 54 bytes follow the header")
        tensors[0].offsets = [16, 0]
        try expectCorrupt(makeSafetensors(tensors), "data_offsets [16, 0] are not an ascending pair")
    }

    @Test func overlappingGappedAndLeftoverBytes() throws {
        let a = SafetensorsTensor(name: "a", dtype: "F32", shape: [2], bytes: littleEndianBytes([1, 2] as [Float]))
        var b = SafetensorsTensor(name: "b", dtype: "F32", shape: [2], bytes: littleEndianBytes([3, 4] as [Float]))
        b.offsets = [4, 12]
        try expectCorrupt(makeSafetensors([a, b]), "overlap")
        b.offsets = [12, 20]
        var data = makeSafetensors([a, b])
        data.append(contentsOf: [0, 0, 0, 0])
        try expectCorrupt(data, "unexplained bytes")
        var withTail = makeSafetensors([a])
        withTail.append(contentsOf: [0, 0])
        try expectCorrupt(withTail, "the tensors cover 8 bytes of the 10 bytes data section")
    }

    @Test func sizeMustMatchShapeAndDType() throws {
        let wrongSize = SafetensorsTensor(name: "w", dtype: "F32", shape: [3], bytes: littleEndianBytes([1, 2] as [Float]))
        try expectCorrupt(makeSafetensors([wrongSize]), "shape [3] of float32 needs 12 bytes but data_offsets give 8 bytes")
        let huge = SafetensorsTensor(name: "w", dtype: "F32", shape: [1 << 40, 1 << 40, 1 << 40], bytes: [0, 0, 0, 0])
        try expectCorrupt(makeSafetensors([huge]), "overflows")
        let bytesOverflow = SafetensorsTensor(name: "w", dtype: "F64", shape: [1 << 40, 1 << 20], bytes: [0, 0, 0, 0])
        try expectCorrupt(makeSafetensors([bytesOverflow]), "more than Int.max")
        let negative = SafetensorsTensor(name: "w", dtype: "F32", shape: [-1], bytes: [])
        try expectCorrupt(makeSafetensors([negative]), "its shape holds a number that is not an integer in 0..<2^53")
        let fractional = SafetensorsTensor(name: "w", dtype: "F32", shape: [1 << 60], bytes: [])
        try expectCorrupt(makeSafetensors([fractional]), "not an integer")
    }

    @Test func unsupportedDType() throws {
        let fp8 = SafetensorsTensor(name: "q", dtype: "F8_E4M3", shape: [2], bytes: [1, 2])
        let error = try openError(makeSafetensors([fp8]), name: "model.safetensors")
        #expect(error == .unsupportedDType(file: error?.file ?? "", tensor: "q", dtype: "F8_E4M3"))
        #expect(error?.description.contains("Convert the checkpoint to float32") == true)
    }

    @Test func truncatedFixtureModel() throws {
        let source = Fixtures.modelDirectory("siamese_uie").appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: source)
        for length in [0, 5, 8, 9, 100, 22_000, 22_456, data.count / 2, data.count - 1] {
            let error = try openError(data.prefix(length), name: "model.safetensors")
            guard case .corruptFile? = error else { Issue.record("cut at \(length): \(String(describing: error))"); continue }
        }
    }

    /// Every byte of a header damaged in turn: a success or a CheckpointError, never a trap.
    @Test func corruptedHeaderBytesNeverTrap() throws {
        let original = makeSafetensors(good)
        let url = URL(fileURLWithPath: "/in-memory/damaged.safetensors")
        for position in 0 ..< original.count {
            for replacement: UInt8 in [0x00, 0xFF, UInt8(ascii: "9"), UInt8(ascii: "]")] where original[position] != replacement {
                var damaged = original
                damaged[position] = replacement
                let result = readAll { try SafetensorsFile(url: url, data: damaged) }
                if let error = result.error { #expect(error is CheckpointError, "byte \(position): \(error)") }
            }
        }
    }
}

private extension Data {
    /// The same safetensors file with its header padded by `count` trailing spaces.
    func paddedHeader(by count: Int) -> Data {
        let length = Int(self.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        var header = Array(self.dropFirst(8).prefix(length))
        header += Array(repeating: UInt8(ascii: " "), count: count)
        var result = Data()
        var newLength = UInt64(header.count).littleEndian
        Swift.withUnsafeBytes(of: &newLength) { result.append(contentsOf: $0) }
        result.append(contentsOf: header)
        result.append(self.dropFirst(8 + length))
        return result
    }
}
