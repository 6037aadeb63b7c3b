import Foundation
import Testing
import UniNLUCheckpoint
import UniNLUCore
import UniNLUCPU
import UniNLUModels

// The DeBERTa-v2 graph and the rotary head against upstream: for every recorded forward of every
// public case, our Z from upstream's own inputs (ids, position ids, 2-D mask) matches the recorded
// entries within 1e-4 and has the same positive entries.

@Suite("RexUniNLU model: Z parity on upstream inputs", .serialized)
struct RexModelParityTests {
    // nonisolated(unsafe): the suite is serialized and the model is only read.
    nonisolated(unsafe) static let model: RexUniNLUModel<CPUKernels>? = {
        guard let data = try? Data(contentsOf: RexFixtures.modelURL.appendingPathComponent("config.json")),
              let configuration = try? JSONDecoder().decode(DebertaV2Configuration.self, from: data),
              let reader = try? Checkpoint.open(modelDirectory: RexFixtures.modelURL)
        else { return nil }
        return try? RexUniNLUModel(configuration: configuration, kernels: CPUKernels(), store: TensorStore(reader))
    }()

    @Test("the fixture model loads strictly (every tensor used, shapes as expected)")
    func modelLoads() throws {
        let data = try Data(contentsOf: RexFixtures.modelURL.appendingPathComponent("config.json"))
        let configuration = try JSONDecoder().decode(DebertaV2Configuration.self, from: data)
        #expect(configuration.relativePositionMode == .raw)
        #expect(configuration.attentionSpan == 256)
        _ = try RexUniNLUModel(configuration: configuration, kernels: CPUKernels(), store: TensorStore(Checkpoint.open(modelDirectory: RexFixtures.modelURL)))
    }

    @Test("Z matches upstream on every recorded forward", arguments: RexFixtures.caseIDs)
    func zMatches(_ id: String) throws {
        let model = try #require(Self.model)
        let fixture = try #require(RexFixtures.fixture(id))
        let forwards = fixture["forwards"]?.arrayValue ?? []
        // Several forwards in one packed batch: batching must not change any value.
        let jobs = forwards.map(RexFixtures.job)
        guard !jobs.isEmpty else { return }
        for (index, job) in jobs.enumerated() {
            #expect(job.mask.count == job.count * job.count, "case \(id) forward \(index): mask RLE decodes to \(job.mask.count) entries")
        }
        let results = try model.tokenPairLogits(jobs)
        for (index, (forward, z)) in zip(forwards, results).enumerated() {
            let problems = ZComparison.problems(ours: z, recorded: forward)
            #expect(problems.isEmpty, "case \(id) forward \(index): \(problems.prefix(5).joined(separator: "; ")) (\(problems.count) problems)")
        }
    }

    @Test("a 2-D mask column of zeros (a token nobody attends) is refused, naming the token and sequence")
    func unattendedTokenRefused() throws {
        let model = try #require(Self.model)
        let n = 5
        var mask = [UInt8](repeating: 1, count: n * n)
        for i in 0..<n { mask[i * n + 3] = 0 }   // column 3
        let good = RexForwardJob(ids: [1, 5, 6, 7, 2], positions: [0, 1, 2, 3, 4], mask: [UInt8](repeating: 1, count: n * n))
        let bad = RexForwardJob(ids: [1, 5, 6, 7, 2], positions: [0, 1, 2, 3, 4], mask: mask)
        #expect(try model.tokenPairLogits([good]).count == 1)
        do {
            _ = try model.tokenPairLogits([good, bad])
            Issue.record("a mask column of zeros was accepted")
        } catch {
            #expect("\(error)".contains("token 3 of sequence 1"), "\(error)")
        }
    }

    @Test("batch invariance: a job alone and inside a mixed-length batch give the same Z")
    func batchInvariance() throws {
        let model = try #require(Self.model)
        let jobs = ["rex_ner_card_example", "rex_re_org", "rex_cls_hierarchical"].compactMap(RexFixtures.fixture)
            .flatMap { ($0["forwards"]?.arrayValue ?? []).prefix(2) }.map(RexFixtures.job)
        #expect(jobs.count >= 4)
        let together = try model.tokenPairLogits(jobs)
        for (job, batched) in zip(jobs, together) {
            let alone = try model.tokenPairLogits([job])[0]
            let worst = zip(alone.values, batched.values).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            #expect(worst <= 1e-6, "job of \(job.count) tokens differs by \(worst) when batched")
        }
    }
}
