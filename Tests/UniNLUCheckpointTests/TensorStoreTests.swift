// Strict loading: every tensor taken or ignored, all problems reported together.

import Foundation
import Testing
@testable import UniNLUCheckpoint

@Suite struct TensorStoreTests {
    private func store() throws -> (TensorStore, ScratchDirectory) {
        let scratch = try ScratchDirectory()
        let tensors = [
            SafetensorsTensor(name: "encoder.layer.0.weight", dtype: "F32", shape: [2, 2], bytes: littleEndianBytes([1, 2, 3, 4] as [Float])),
            SafetensorsTensor(name: "encoder.layer.0.bias", dtype: "BF16", shape: [2], bytes: littleEndianBytes([0x3F80, 0x4000] as [UInt16])),
            SafetensorsTensor(name: "pooler.weight", dtype: "F32", shape: [1], bytes: littleEndianBytes([9] as [Float])),
            SafetensorsTensor(name: "position_ids", dtype: "I64", shape: [1, 2], bytes: littleEndianBytes([0, 1] as [Int64])),
        ]
        let url = try scratch.write(makeSafetensors(tensors), to: "model.safetensors")
        return (TensorStore(try Checkpoint.open(file: url)), scratch)
    }

    @Test func everythingTakenOrIgnored() throws {
        let (store, scratch) = try store()
        defer { scratch.remove() }
        store.ignore("position_ids", "not.in.file")
        store.ignore(prefix: "pooler.")
        #expect(try store.take("encoder.layer.0.weight", shape: [2, 2]) == [1, 2, 3, 4])
        #expect(try store.take("encoder.layer.0.bias", shape: [2]) == [1, 2])
        #expect(try store.takeIfPresent("encoder.layer.1.bias", shape: [2]) == nil)
        #expect(store.unusedNames.isEmpty)
        try store.finish()
    }

    @Test func leftoverTensorsAreUnexpected() throws {
        let (store, scratch) = try store()
        defer { scratch.remove() }
        _ = try store.take("encoder.layer.0.weight", shape: [2, 2])
        _ = try store.take("encoder.layer.0.bias", shape: [2])
        store.ignore(["position_ids"])
        let error = #expect(throws: CheckpointError.self) { try store.finish() }
        guard case let .unexpectedTensors(file, names)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(names == ["pooler.weight"])
        #expect(file.hasSuffix("model.safetensors"))
        #expect(error?.description.contains("1 tensor(s) in the file were not used by the model: pooler.weight") == true)
    }

    @Test func aSingleMissingTensorIsReportedWithNearbyNames() throws {
        let (store, scratch) = try store()
        defer { scratch.remove() }
        store.ignore(prefix: "")
        let placeholder = try store.take("bert.encoder.layer.0.weight", shape: [2, 2])
        #expect(placeholder == [0, 0, 0, 0])  // usable until finish() throws
        let error = #expect(throws: CheckpointError.self) { try store.finish() }
        guard case let .missingTensor(_, name, shape, nearby)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(name == "bert.encoder.layer.0.weight" && shape == [2, 2])
        #expect(nearby.first == "encoder.layer.0.weight")
    }

    @Test func allProblemsAreReportedTogether() throws {
        let (store, scratch) = try store()
        defer { scratch.remove() }
        let wrong = try store.take("encoder.layer.0.weight", shape: [4])
        #expect(wrong == [0, 0, 0, 0])
        _ = try store.take("encoder.layer.0.gamma", shape: [2])
        _ = try store.take("decoder.weight", shape: [3])
        store.ignore("position_ids")
        let error = #expect(throws: CheckpointError.self) { try store.finish() }
        guard case let .incompatibleCheckpoint(_, problems)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(problems.count == 4)
        #expect(problems.first == .shapeMismatch(file: problems.first?.file ?? "", name: "encoder.layer.0.weight",
                                                 expected: [4], actual: [2, 2]))
        let message = error?.description ?? ""
        #expect(message.contains("the weights do not fit the model (4 problems)"))
        #expect(message.contains("tensor 'encoder.layer.0.weight' has shape [2, 2] but the model expects [4]"))
        #expect(message.contains("missing tensor 'encoder.layer.0.gamma' (shape [2]); similar names in the file: 'encoder.layer.0.bias'"))
        #expect(message.contains("missing tensor 'decoder.weight' (shape [3])"))
        #expect(message.contains("not used by the model: encoder.layer.0.bias, pooler.weight"))
    }

    @Test func rawTensorsForNonFloatWeights() throws {
        let (store, scratch) = try store()
        defer { scratch.remove() }
        let ids = try #require(try store.takeTensor("position_ids", shape: [1, 2]))
        #expect(try ids.int64s() == [0, 1])
        #expect(try store.takeTensor("missing", shape: [1]) == nil)
        store.ignore(prefix: "encoder.")
        store.ignore(prefix: "pooler.")
        #expect(throws: CheckpointError.self) { try store.finish() }  // the missing one
    }

    @Test func fixtureModelLoadsStrictly() throws {
        // The way UniNLUModels loads SiameseUIE: every name taken with its shape.
        let reader = try Checkpoint.open(modelDirectory: Fixtures.modelDirectory("siamese_uie"))
        let store = TensorStore(reader)
        store.ignore("plm.embeddings.position_ids", "plm.pooler.dense.weight", "plm.pooler.dense.bias")
        for name in reader.tensorNames where !name.hasPrefix("plm.pooler") && name != "plm.embeddings.position_ids" {
            let shape = try reader.tensor(named: name).shape
            _ = try store.take(name, shape: shape)
        }
        try store.finish()
    }
}
