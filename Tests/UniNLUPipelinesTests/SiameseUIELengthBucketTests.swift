import Foundation
import Testing
import UniNLUCheckpoint
import UniNLUCore
import UniNLUCPU
@testable import UniNLUModels

// A backend that replays CUDA graphs pads SiameseUIE's text windows and hints with masked rows up
// to its length bucket, so that nearby lengths share a shape. The padding must not change any real
// row: the same fixture windows and hints, several texts and jobs in one forward, give the same
// pointer logits on the CPU at bucket 1 (exact lengths), 8 and 16.
@Suite("SiameseUIE length buckets")
struct SiameseUIELengthBucketTests {
    typealias Job = (windows: [SiameseTextWindow], hints: [[Int32]])

    static func jobs(_ ids: [String]) throws -> [Job] {
        let cases = try #require(try Fixtures.json("siamese_uie/cases.json")["cases"]?.arrayValue)
        return try ids.map { id in
            let fixture = try #require(cases.first { $0["id"]?.stringValue == id })
            let level = try #require(fixture["levels"]?.arrayValue?.first)
            let windows = (level["text_windows"]?.arrayValue ?? []).map {
                SiameseTextWindow(ids: $0["ids"]?.int32Array ?? [], attentionMask: $0["attention_mask"]?.int32Array ?? [])
            }
            let hints = (level["hint_batch"]?["items"]?.arrayValue ?? []).map { item -> [Int32] in
                let ids = item["ids"]?.int32Array ?? [], mask = item["attention_mask"]?.int32Array ?? []
                return zip(ids, mask).filter { $0.1 != 0 }.map(\.0)
            }
            return (windows, hints)
        }
    }

    static func logits(bucket: Int, maxTokens: Int = .max, jobs: [Job]) throws -> [Float] {
        let directory = Fixtures.url("siamese_uie/model")
        let configuration = try JSONDecoder().decode(BertConfiguration.self, from: Data(contentsOf: directory.appendingPathComponent("config.json")))
        let kernels = CPUKernels()
        kernels.lengthBucket = bucket
        kernels.lengthBucketMaxTokens = maxTokens
        let model = try SiameseUIEModel(configuration: configuration, kernels: kernels, store: TensorStore(Checkpoint.open(modelDirectory: directory)))
        let texts = try model.encodeTexts(jobs.map(\.windows))
        let out = try model.pointerLogits(zip(texts, jobs).map { ($0, $1.hints) })
        return out.flatMap { $0.flatMap { $0.flatMap { $0.head + $0.tail } } }
    }

    @Test("texts pad to the bucket only while the padded forward stays within the replay token limit")
    func textsOverTokenLimit() throws {
        let jobs = try Self.jobs(["sie_ner_seed_intent_slot", "sie_ner_short"])   // windows of 15 and 25 tokens
        let directory = Fixtures.url("siamese_uie/model")
        let configuration = try JSONDecoder().decode(BertConfiguration.self, from: Data(contentsOf: directory.appendingPathComponent("config.json")))
        let kernels = CPUKernels()
        kernels.lengthBucket = 8
        let model = try SiameseUIEModel(configuration: configuration, kernels: kernels, store: TensorStore(Checkpoint.open(modelDirectory: directory)))
        kernels.lengthBucketMaxTokens = 16 + 32   // the padded windows exactly
        #expect(try model.encodeTexts(jobs.map(\.windows)).map(\.rowsPerWindow) == [16, 32])
        kernels.lengthBucketMaxTokens = 47
        #expect(try model.encodeTexts(jobs.map(\.windows)).map(\.rowsPerWindow) == [15, 25])
    }

    @Test("hints pad to the bucket only while their region stays within the replay token limit")
    func hintsOverTokenLimit() throws {
        let jobs = try Self.jobs(["sie_ner_seed_intent_slot"])   // one 15-token window, hints of 3-8 tokens
        let directory = Fixtures.url("siamese_uie/model")
        let configuration = try JSONDecoder().decode(BertConfiguration.self, from: Data(contentsOf: directory.appendingPathComponent("config.json")))
        let kernels = CPUKernels()
        kernels.lengthBucket = 8
        let model = try SiameseUIEModel(configuration: configuration, kernels: kernels, store: TensorStore(Checkpoint.open(modelDirectory: directory)))
        let text = try #require(try model.encodeTexts([jobs[0].windows]).first)
        let hints = jobs[0].hints
        #expect(!hints.isEmpty && hints.contains { $0.count % 8 != 0 })
        // Each hint: its padded rows, plus one pair of the 16-row window and the padded hint.
        let region = hints.reduce(0) { $0 + 2 * PackedSequences.bucketed($1.count, bucket: 8) + 16 }
        kernels.lengthBucketMaxTokens = region
        #expect(model.hintBucket([(text, hints)]) == 8)
        kernels.lengthBucketMaxTokens = region - 1
        #expect(model.hintBucket([(text, hints)]) == 1)
        // And unpadded, the logits are those of exact lengths.
        let exact = try Self.logits(bucket: 1, jobs: jobs)
        #expect(try Self.logits(bucket: 8, maxTokens: 15, jobs: jobs) == exact)
    }

    @Test("padding to 8 or 16 tokens gives the exact-length logits", arguments: [8, 16])
    func samePointerLogits(_ bucket: Int) throws {
        // Text windows of 15, 25 and 2 tokens, hints of 3-8 tokens, one text of two 384-token windows.
        let jobs = try Self.jobs(["sie_ner_seed_intent_slot", "sie_ner_short", "sie_empty_text", "sie_window_385_two_windows"])
        let exact = try Self.logits(bucket: 1, jobs: jobs)
        let padded = try Self.logits(bucket: bucket, jobs: jobs)
        #expect(exact.count == padded.count)
        #expect(exact.count > 1000)
        var worst: Float = 0
        for (a, b) in zip(exact, padded) { worst = max(worst, abs(a - b)) }
        // Padded keys get exactly zero weight; what remains is FP32 summation order (GEMMs over
        // more rows), far below the fixtures' 1e-3 tolerance.
        #expect(worst <= 2e-4, "max |exact - padded| = \(worst)")
    }
}
