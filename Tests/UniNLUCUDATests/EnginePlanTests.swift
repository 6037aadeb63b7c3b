import Foundation
import Testing
import UniNLUCUDA
import UniNLUEngine

// Plan files are validated before any GPU work: a foreign or truncated file, a plain checkpoint, a
// plan without a GPU to run it are clear errors. (Round trips run on the GPU in `uninlu check plans`.)

@Suite("Engine plan validation")
struct EnginePlanTests {
    static let fixtureModel = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/siamese_uie/model")

    func temporaryFile(_ bytes: Data) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("uninlu-plan-test-\(UUID().uuidString).plan")
        try bytes.write(to: url)
        return url
    }

    @Test("a plain safetensors checkpoint is not a plan")
    func checkpointIsNotAPlan() throws {
        do {
            _ = try EnginePlan(url: Self.fixtureModel.appendingPathComponent("model.safetensors"))
            Issue.record("expected an error")
        } catch let error as EnginePlan.PlanError {
            #expect(error.description.contains("not a UniNLU engine plan"), "\(error)")
        }
    }

    @Test("garbage and truncated files are rejected, not crashed on")
    func garbageRejected() throws {
        for bytes in [Data(), Data([1, 2, 3]), Data(repeating: 0xFF, count: 4096)] {
            let url = try temporaryFile(bytes)
            defer { try? FileManager.default.removeItem(at: url) }
            #expect(throws: EnginePlan.PlanError.self) { _ = try EnginePlan(url: url) }
        }
    }

    @Test("a plan of another format version is rejected with its version")
    func versionRejected() throws {
        let header = #"{"__metadata__": {"format": "uninlu-plan", "format_version": "7"}}"#
        var bytes = Array(header.utf8)
        while bytes.count % 8 != 0 { bytes.append(0x20) }
        var data = Data()
        var length = UInt64(bytes.count).littleEndian
        data.append(Data(bytes: &length, count: 8))
        data.append(contentsOf: bytes)
        let url = try temporaryFile(data)
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            _ = try EnginePlan(url: url)
            Issue.record("expected an error")
        } catch let error as EnginePlan.PlanError {
            #expect(error.description.contains("version 7"), "\(error)")
        }
    }

    func planHeader(_ metadata: [String: String]) throws -> URL {
        let fields = metadata.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ", ")
        var bytes = Array("{\"__metadata__\": {\(fields)}}".utf8)
        while bytes.count % 8 != 0 { bytes.append(0x20) }
        var data = Data()
        var length = UInt64(bytes.count).littleEndian
        data.append(Data(bytes: &length, count: 8))
        data.append(contentsOf: bytes)
        return try temporaryFile(data)
    }

    @Test("a plan whose kernels differ from this build's is rejected; the same kernels pass", arguments: ["fp16", "fp32"])
    func kernelFingerprint(precision: String) throws {
        let fields = ["format": "uninlu-plan", "format_version": "1", "family": "siamese-uie", "precision": precision,
                      "architecture": "sm_90", "kernels.cubin": "AA==", "file.config.json": "{}", "file.vocab.txt": "a"]
        let current = KernelLibrary.fingerprint(fp16: precision == "fp16")
        #expect(current != KernelLibrary.fingerprint(fp16: precision != "fp16"))
        let good = try planHeader(fields.merging(["kernels.fingerprint": current]) { $1 })
        defer { try? FileManager.default.removeItem(at: good) }
        #expect(try EnginePlan(url: good).precision.rawValue == precision)
        for stale in ["0", String(current.reversed()), ""] where stale != current {
            let url = try planHeader(fields.merging(["kernels.fingerprint": stale]) { $1 })
            defer { try? FileManager.default.removeItem(at: url) }
            do {
                _ = try EnginePlan(url: url)
                Issue.record("expected an error for fingerprint \(stale)")
            } catch let error as EnginePlan.PlanError {
                #expect(error.description.contains("other GPU kernels") && error.description.contains("uninlu build"), "\(error)")
            }
        }
        let missing = try planHeader(fields)
        defer { try? FileManager.default.removeItem(at: missing) }
        #expect(throws: EnginePlan.PlanError.self) { _ = try EnginePlan(url: missing) }
    }

    @Test("building a plan without a GPU says that a GPU is needed")
    func buildNeedsGPU() throws {
        guard !CUDAEnvironment.probe().canRun else { return }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("never-\(UUID().uuidString).plan")
        do {
            try EnginePlan.build(modelDirectory: Self.fixtureModel, precision: .fp16, output: out, log: { _ in })
            Issue.record("expected an error")
        } catch let error as EnginePlan.PlanError {
            #expect(error.description.contains("CUDA backend"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}
