// torch.save zip checkpoints: dtypes, strided views, shared storages, wrappers, byte order,
// deflated archives, and every way a damaged or hostile file must be refused with a clear error.
// The checkpoints come from scripts/make_torch_test_checkpoints.py (byte-identical to torch's).

import Foundation
import Testing
@testable import UniNLUCheckpoint

@Suite struct TorchCheckpointTests {
    private func open(_ name: String) throws -> (reader: TorchCheckpoint, scratch: ScratchDirectory) {
        let scratch = try ScratchDirectory()
        let url = try scratch.write(try Fixtures.torch(name), to: "\(name).pt")
        return (try TorchCheckpoint(url: url), scratch)
    }

    @Test func everyDTypeAndView() throws {
        let (reader, scratch) = try open("state_dict")
        defer { scratch.remove() }
        #expect(reader.tensorNames == ["half", "transposed", "shared_a", "shared_b", "columns", "expanded", "scalar",
                                       "empty", "weight", "position_ids", "double", "int32", "int16", "int8", "uint8", "mask"])
        func check(_ name: String, _ dtype: TensorDType, _ shape: [Int], _ values: [Float]) throws {
            let tensor = try reader.tensor(named: name)
            #expect(tensor.dtype == dtype, "\(name)")
            #expect(tensor.shape == shape, "\(name)")
            #expect(try tensor.floats() == values, "\(name)")
        }
        // FP16 with its largest value, smallest subnormal and infinity.
        try check("half", .float16, [2, 3], [0, 1, -2.5, 65504, 0x1p-24, .infinity])
        // A transposed (column-major) view is gathered into row-major order.
        try check("transposed", .float32, [3, 2], [1, 4, 2, 5, 3, 6])
        // Two BF16 views of one storage, at offsets 2 and 4.
        try check("shared_a", .bfloat16, [3], [-1.5, -0.5, 0.5])
        try check("shared_b", .bfloat16, [2, 3], [0.5, 1.5, 2.5, 3.5, 4.5, 5.5])
        // m[:, 1:3] of a 3x4 matrix: offset 1, row stride 4.
        try check("columns", .float32, [3, 2], [1, 2, 5, 6, 9, 10])
        // A broadcast (stride 0) view.
        try check("expanded", .float32, [2, 3], [7, 8, 9, 7, 8, 9])
        try check("scalar", .float32, [], [42.5])
        try check("empty", .float32, [0, 3], [])
        // An nn.Parameter (torch._utils._rebuild_parameter).
        try check("weight", .float32, [2], [0.25, -0.75])
        try check("double", .float64, [2], [0.1, -.infinity])  // -1e300 overflows Float
        try check("int32", .int32, [2], [-7, 2_147_483_648])  // 2^31 - 1 rounds to 2^31 in Float
        try check("int16", .int16, [2], [-300, 300])
        try check("int8", .int8, [2], [-128, 127])
        try check("uint8", .uint8, [2], [0, 255])
        try check("mask", .bool, [3], [1, 0, 1])

        let ids = try reader.tensor(named: "position_ids")
        #expect(ids.dtype == .int64 && ids.shape == [1, 5])
        #expect(try ids.int64s() == [0, 1, 2, 3, 1 << 40])
        #expect(try reader.tensor(named: "int8").int64s() == [-128, 127])
        #expect(try reader.tensor(named: "mask").int64s() == [1, 0, 1])
        #expect(try reader.tensor(named: "transposed").data.count == 24)
    }

    @Test func aWrapperDictIsUnwrapped() throws {
        let (reader, scratch) = try open("nested")
        defer { scratch.remove() }
        #expect(reader.unwrappedKey == "state_dict")
        #expect(reader.tensorNames == ["encoder.weight"])
        #expect(try reader.tensor(named: "encoder.weight").floats() == [1, 2, 3, 4])
    }

    @Test func nestedContainersAreFlattenedWithDots() throws {
        let (reader, scratch) = try open("flattened")
        defer { scratch.remove() }
        #expect(reader.unwrappedKey == nil)
        #expect(reader.tensorNames == ["encoder.w", "heads.0"])
        #expect(try reader.tensor(named: "heads.0").floats() == [3])
    }

    @Test func bigEndianStoragesAreSwapped() throws {
        let (reader, scratch) = try open("big_endian")
        defer { scratch.remove() }
        #expect(try reader.tensor(named: "f32").floats() == [1.5, -2, 3.25])
        #expect(try reader.tensor(named: "f16").floats() == [0.5, -1])
        #expect(try reader.tensor(named: "bf16").floats() == [2, -4])
        #expect(try reader.tensor(named: "i64").int64s() == [1, -2, 1 << 40])
    }

    @Test func deflatedArchiveIsInflated() throws {
        let (reader, scratch) = try open("deflated")
        defer { scratch.remove() }
        #expect(try reader.tensor(named: "a").floats() == [1, 2, 3, 4, 5, 6])
        #expect(try reader.tensor(named: "b").floats() == [0.5, 0.25])
    }

    /// Central headers whose sizes and offsets live in the zip64 extra field, as miniz writes
    /// them for checkpoints past 4 GiB.
    @Test func zip64ExtraFields() throws {
        let (reader, scratch) = try open("zip64_headers")
        defer { scratch.remove() }
        #expect(try reader.tensor(named: "a").floats() == [1, 2, 3, 4, 5, 6])
        #expect(try reader.tensor(named: "b").shape == [2])
    }

    @Test func unknownNameSuggestsNearbyOnes() throws {
        let (reader, scratch) = try open("state_dict")
        defer { scratch.remove() }
        let error = #expect(throws: CheckpointError.self) { try reader.tensor(named: "model.weight") }
        guard case let .tensorNotFound(_, name, nearby)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(name == "model.weight" && nearby == ["weight"])
    }

    // MARK: - Refused files

    @Test func forbiddenGlobalIsNamedWithItsPosition() throws {
        let error = try openError(try Fixtures.torch("forbidden_global"), name: "evil.pt")
        #expect(error == .forbiddenPickleGlobal(file: error?.file ?? "", entry: "forbidden_global/data.pkl",
                                                global: "os.system", position: 2))
        #expect(error?.description.contains("'os.system' at byte 2") == true)
        #expect(error?.description.contains("nothing was imported or executed") == true)
    }

    @Test func unknownOpcodeIsNamedWithItsPosition() throws {
        let error = try openError(try Fixtures.torch("unknown_opcode"), name: "odd.pt")
        #expect(error == .unsupportedPickleOpcode(file: error?.file ?? "", entry: "unknown_opcode/data.pkl",
                                                  opcode: 0xFF, position: 14))
        #expect(error?.description.contains("0xff") == true)
        #expect(error?.description.contains("byte 14") == true)
    }

    @Test func opcodesOutsideTheSubsetAreRefusedByName() throws {
        let error = try openError(try Fixtures.torch("newobj"), name: "newobj.pt")
        #expect(error == .unsupportedPickleOpcode(file: error?.file ?? "", entry: "newobj/data.pkl",
                                                  opcode: 0x81, position: 30))
        #expect(error?.description.contains("NEWOBJ (0x81) at byte 30") == true)
    }

    @Test func zipWithoutDataPkl() throws {
        let error = try openError(try Fixtures.torch("no_data_pkl"), name: "no_pickle.bin")
        #expect(error == .missingArchiveEntry(file: error?.file ?? "", entry: "<archive>/data.pkl"))
        #expect(error?.description.contains("data.pkl") == true)
    }

    @Test func missingStorageEntry() throws {
        let error = try openError(try Fixtures.torch("missing_storage"), name: "missing.bin")
        #expect(error == .missingArchiveEntry(file: error?.file ?? "", entry: "missing_storage/data/1"))
    }

    @Test func storageOfTheWrongSize() throws {
        let error = try openError(try Fixtures.torch("short_storage"), name: "short.bin")
        guard case .corruptFile? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(error?.description.contains("short_storage/data/0") == true)
        #expect(error?.description.contains("6 float32 values (24 bytes) but has 12 bytes") == true)
    }

    @Test func viewOutsideItsStorage() throws {
        let error = try openError(try Fixtures.torch("view_out_of_bounds"), name: "view.bin")
        guard case let .malformedPickle(_, _, reason, _)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(reason.contains("reaches element 3 of storage '0', which holds 3"))
    }

    @Test func legacyFormatIsExplained() throws {
        let error = try openError(try Fixtures.torch("legacy"), name: "old.bin")
        guard case .unrecognizedFormat? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(error?.description.contains("before 1.6") == true)
    }

    /// Cut everywhere: every prefix of a checkpoint must give a CheckpointError (the end of
    /// central directory is at the very end, so every cut is detectable).
    @Test func everyTruncationIsAClearError() throws {
        let data = try Fixtures.torch("state_dict")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        for length in Array(stride(from: 0, to: data.count, by: 7)) + [1, 4, 21, 22, data.count - 22, data.count - 1] {
            let url = try scratch.write(data.prefix(length), to: "cut.pt")
            let result = openAndReadAll(url)
            guard let error = result.error as? CheckpointError else {
                Issue.record("cut at \(length): \(String(describing: result.error))")
                continue
            }
            #expect(error.description.hasPrefix(url.path), "cut at \(length)")
        }
    }

    @Test func truncatedFixtureModel() throws {
        let source = Fixtures.modelDirectory("rex_uninlu").appendingPathComponent("pytorch_model.bin")
        let data = try Data(contentsOf: source)
        for fraction in [0.001, 0.01, 0.5, 0.999] {
            let error = try openError(data.prefix(Int(Double(data.count) * fraction)), name: "pytorch_model.bin")
            guard case .corruptFile? = error else { Issue.record("\(fraction): \(String(describing: error))"); continue }
            #expect(error?.description.contains("cut off") == true)
        }
    }

    /// Damage every byte of the pickle and of the zip directory in turn: whatever happens must be
    /// a success or a CheckpointError, never a trap.
    @Test func corruptedBytesNeverTrap() throws {
        let original = try Fixtures.torch("state_dict")
        let url = URL(fileURLWithPath: "/in-memory/damaged.pt")
        let pickleRange = 64 ..< 64 + 1343       // data.pkl starts 64-byte aligned
        let directoryRange = (original.count - 1300) ..< original.count
        var refused = 0
        for position in Array(pickleRange) + Array(directoryRange) {
            for replacement: UInt8 in [0x00, 0xFF, 0x7F] where original[position] != replacement {
                var damaged = original
                damaged[position] = replacement
                let result = readAll { try TorchCheckpoint(url: url, data: damaged) }
                if let error = result.error {
                    #expect(error is CheckpointError, "byte \(position) = \(replacement): \(error)")
                    refused += 1
                }
            }
        }
        #expect(refused > 1000)
    }
}
