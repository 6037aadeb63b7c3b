// The two fixture models ship the same weights as model.safetensors and pytorch_model.bin: both
// readers must agree on every tensor's name, dtype, shape and bytes.

import Foundation
import Testing
@testable import UniNLUCheckpoint

@Suite struct FixtureModelTests {
    @Test(arguments: ["siamese_uie", "rex_uninlu"])
    func bothFormatsGiveIdenticalTensors(family: String) throws {
        let directory = Fixtures.modelDirectory(family)
        let safetensors = try SafetensorsFile(url: directory.appendingPathComponent("model.safetensors"))
        let torch = try TorchCheckpoint(url: directory.appendingPathComponent("pytorch_model.bin"))

        #expect(safetensors.tensorNames.count > 200)
        #expect(Set(safetensors.tensorNames) == Set(torch.tensorNames))
        #expect(Set(safetensors.tensorNames).count == safetensors.tensorNames.count)
        #expect(safetensors.metadata == ["format": "pt"])
        #expect(torch.unwrappedKey == nil)

        for name in safetensors.tensorNames {
            let a = try safetensors.tensor(named: name)
            let b = try torch.tensor(named: name)
            #expect(a.name == name && b.name == name)
            #expect(a.dtype == b.dtype, "\(name)")
            #expect(a.shape == b.shape, "\(name)")
            #expect(a.data == b.data, "\(name): bytes differ")
            let floats = try a.floats()
            #expect(floats.count == a.shape.reduce(1, *))
            #expect(floats == (try b.floats()), "\(name): values differ")
        }
    }

    @Test func siameseHasTheInt64PositionIdsBuffer() throws {
        let directory = Fixtures.modelDirectory("siamese_uie")
        for file in ["model.safetensors", "pytorch_model.bin"] {
            let reader = try Checkpoint.open(file: directory.appendingPathComponent(file))
            let ids = try reader.tensor(named: "plm.embeddings.position_ids")
            #expect(ids.dtype == .int64)
            #expect(ids.shape == [1, 512])
            #expect(try ids.int64s() == (0 ..< 512).map(Int64.init))
            #expect(try ids.floats() == (0 ..< 512).map(Float.init))
            let embeddings = try reader.tensor(named: "plm.embeddings.word_embeddings.weight")
            #expect(embeddings.dtype == .float32)
            #expect(embeddings.shape == [21128, 32])
            #expect(throws: CheckpointError.self) { try embeddings.int64s() }
        }
    }

    @Test func directoryPrefersSafetensors() throws {
        let reader = try Checkpoint.open(modelDirectory: Fixtures.modelDirectory("siamese_uie"))
        #expect(reader is SafetensorsFile)
        #expect(reader.url.lastPathComponent == "model.safetensors")
    }

    @Test func directoryFallsBackToPytorchModelBin() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let source = Fixtures.modelDirectory("rex_uninlu").appendingPathComponent("pytorch_model.bin")
        try FileManager.default.copyItem(at: source, to: scratch.url.appendingPathComponent("pytorch_model.bin"))
        let reader = try Checkpoint.open(modelDirectory: scratch.url)
        #expect(reader is TorchCheckpoint)
        #expect(reader.tensorNames.contains("plm.embeddings.word_embeddings.weight"))
    }
}
