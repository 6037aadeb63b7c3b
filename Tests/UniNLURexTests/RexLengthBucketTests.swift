import Foundation
import Testing
import UniNLUCheckpoint
import UniNLUCore
import UniNLUCPU
@testable import UniNLUModels

// A backend that replays CUDA graphs pads each Rex job to its length bucket (and the relative-distance
// table with it), so that nearby lengths share a captured encoder. The padding must not change any real
// value: the recorded upstream forwards, packed together, give the same Z on the CPU at bucket 1
// (exact lengths), 8 and 16, and still match what upstream recorded.
@Suite("RexUniNLU length buckets", .serialized)
struct RexLengthBucketTests {
    static func model(bucket: Int) throws -> RexUniNLUModel<CPUKernels> {
        let data = try Data(contentsOf: RexFixtures.modelURL.appendingPathComponent("config.json"))
        let configuration = try JSONDecoder().decode(DebertaV2Configuration.self, from: data)
        let kernels = CPUKernels()
        kernels.lengthBucket = bucket
        return try RexUniNLUModel(configuration: configuration, kernels: kernels, store: TensorStore(Checkpoint.open(modelDirectory: RexFixtures.modelURL)))
    }

    /// Forwards of 20 to 512 tokens: lengths on a bucket boundary (512) and off it, short prompts whose
    /// last real token borders padding in the convolution.
    static let caseIDs = ["rex_long_label_skipped", "rex_ner_card_example", "rex_re_org", "rex_absa_hash", "rex_long_three_windows"]

    @Test("padding to 8 or 16 tokens gives the exact-length Z, which still matches upstream", arguments: [8, 16])
    func sameZ(_ bucket: Int) throws {
        let fixtures = try Self.caseIDs.map { try #require(RexFixtures.fixture($0)) }
        let forwards = fixtures.flatMap { $0["forwards"]?.arrayValue ?? [] }
        let jobs = forwards.map(RexFixtures.job)
        #expect(jobs.count == 10 && jobs.contains { $0.count % bucket != 0 } && jobs.contains { $0.count % 16 == 0 })
        let exact = try Self.model(bucket: 1).tokenPairLogits(jobs)
        let padded = try Self.model(bucket: bucket).tokenPairLogits(jobs)
        #expect(exact.count == padded.count)
        for (index, (a, b)) in zip(exact, padded).enumerated() {
            #expect(a.count == b.count)
            let worst = zip(a.values, b.values).map { abs($0 - $1) }.max() ?? .infinity
            // Padded keys get exactly zero weight; what remains is FP32 summation order.
            #expect(worst <= 1e-5, "forward \(index) (\(a.count) tokens): max |exact - padded| = \(worst)")
            let problems = ZComparison.problems(ours: b, recorded: forwards[index])
            let matchesUpstream = problems.isEmpty
            #expect(matchesUpstream, "forward \(index): \(problems.count) problems, first \(problems.prefix(3).joined(separator: "; "))")
        }
    }

    @Test("a padding row that a token attends to is refused")
    func attendedPaddingRefused() throws {
        let model = try Self.model(bucket: 1)
        let n = 8, real = 5
        var mask = [UInt8](repeating: 0, count: n * n)
        for i in 0..<real { for j in 0..<real { mask[i * n + j] = 1 } }
        let ids: [Int32] = [1, 5, 6, 7, 2, 0, 0, 0], positions: [Int32] = [0, 1, 2, 3, 4, 4, 4, 4]
        _ = try model.encoder.encode(ids: ids, positions: positions, sequences: PackedSequences(lengths: [n]), masks: mask, realLengths: [real])
        mask[2 * n + 6] = 1   // token 2 attends to padding row 6
        do {
            _ = try model.encoder.encode(ids: ids, positions: positions, sequences: PackedSequences(lengths: [n]), masks: mask, realLengths: [real])
            Issue.record("a mask that attends to a padding row was accepted")
        } catch {
            #expect("\(error)".contains("padding row 6 of sequence 0"), "\(error)")
        }
    }
}

@Suite("relative-distance reach under length buckets")
struct BucketedReachTests {
    @Test("exact at bucket 1; else the next multiple above, one reach per padded length of a 0..<n prompt")
    func reach() {
        #expect(DisentangledAttentionLayout.bucketedReach(56, multiple: 1) == 56)
        #expect(DisentangledAttentionLayout.bucketedReach(0, multiple: 8) == 8)
        // Prompts of 57 to 64 tokens (largest distance 56 to 63) pad to 64 tokens and share reach 64.
        for n in 57...64 {
            #expect(DisentangledAttentionLayout.bucketedReach(n - 1, multiple: 8) == 64, "n = \(n)")
        }
        #expect(DisentangledAttentionLayout.bucketedReach(64, multiple: 8) == 72)
    }
}

@Suite("Rex jobs packed under a length bucket")
struct RexPackedJobsTests {
    @Test("a 3-token job pads to 4: id 0, the last position id, zero mask rows and columns; a 4-token job stays")
    func padding() throws {
        let first = RexForwardJob(ids: [1, 5, 2], positions: [0, 1, 2], mask: [1, 1, 0, 1, 1, 1, 0, 1, 1])
        let second = RexForwardJob(ids: [1, 6, 7, 2], positions: [0, 1, 1, 2], mask: [UInt8](repeating: 1, count: 16))
        let packed = try RexPackedJobs([first, second], bucket: 4)
        #expect(packed.sequences.offsets == [0, 4, 8])
        #expect(packed.realLengths == [3, 4])
        #expect(packed.isPadded)
        #expect(packed.ids == [1, 5, 2, 0, 1, 6, 7, 2])
        #expect(packed.positions == [0, 1, 2, 2, 0, 1, 1, 2])
        #expect(Array(packed.masks[0..<16]) == [1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0])
        #expect(Array(packed.masks[16...]) == [UInt8](repeating: 1, count: 16))
        #expect(packed.realRowSegments == [RowSegment(source: 0, start: 0, count: 3), RowSegment(source: 0, start: 4, count: 4)])
        #expect(packed.realPositions == [0, 1, 2, 0, 1, 1, 2])
        #expect(packed.reach == 4)   // largest span 2: the next multiple of 4 above it
    }

    @Test("jobs that padded would exceed the replay token limit are packed at exact lengths")
    func overTokenLimit() throws {
        let job = RexForwardJob(ids: [1, 5, 2], positions: [0, 1, 2], mask: [UInt8](repeating: 1, count: 9))
        // Padded to 8 the two jobs take 16 tokens: at a limit of 16 they pad, at 15 they do not.
        let atLimit = try RexPackedJobs([job, job], bucket: 8, maxTokens: 16)
        #expect(atLimit.isPadded && atLimit.bucket == 8 && atLimit.ids.count == 16 && atLimit.reach == 8)
        let over = try RexPackedJobs([job, job], bucket: 8, maxTokens: 15)
        #expect(!over.isPadded && over.bucket == 1 && over.ids.count == 6 && over.reach == 2)
        #expect(PackedSequences.effectiveBucket(lengths: [3, 3], bucket: 1, maxTokens: 0) == 1)
    }

    @Test("over the token limit the model runs the jobs unpadded: the exact-length Z, bit for bit")
    func unpaddedOverLimit() throws {
        let jobs = try ["rex_ner_card_example", "rex_re_org"].map { try #require(RexFixtures.fixture($0)) }
            .flatMap { $0["forwards"]?.arrayValue ?? [] }.map(RexFixtures.job)
        let capped = try RexLengthBucketTests.model(bucket: 8)
        capped.kernels.lengthBucketMaxTokens = jobs.reduce(0) { $0 + $1.count } - 1
        let exact = try RexLengthBucketTests.model(bucket: 1).tokenPairLogits(jobs)
        let unpadded = try capped.tokenPairLogits(jobs)
        #expect(exact.map { $0.values } == unpadded.map { $0.values })
    }

    @Test("bucket 1 packs the jobs as they are")
    func exact() throws {
        let job = RexForwardJob(ids: [1, 5, 2], positions: [0, 1, 2], mask: [UInt8](repeating: 1, count: 9))
        let packed = try RexPackedJobs([job, job], bucket: 1)
        #expect(!packed.isPadded)
        #expect(packed.ids == job.ids + job.ids && packed.masks.count == 18 && packed.reach == 2)
        #expect(packed.realPositions == packed.positions)
    }

    @Test("a job whose mask or positions do not match its ids is refused, naming it")
    func badJob() {
        let good = RexForwardJob(ids: [1, 2], positions: [0, 1], mask: [1, 1, 1, 1])
        let bad = RexForwardJob(ids: [1, 2], positions: [0, 1], mask: [1, 1, 1])
        #expect(throws: ModelError.self) { try RexPackedJobs([good, bad], bucket: 8) }
        do { _ = try RexPackedJobs([good, bad], bucket: 8) } catch { #expect("\(error)".contains("job 1"), "\(error)") }
    }
}
