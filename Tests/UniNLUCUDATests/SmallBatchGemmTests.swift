import Testing
@testable import UniNLUCUDA

// The small-batch GEMM's host-side choices and the partition its kernel walks (CPU twin of the
// index math; the values themselves are checked against the CPU backend by `uninlu check` on a GPU).

@Suite("small-batch GEMM: shapes, cluster sizes and the partition of K and of the rows")
struct SmallBatchGemmTests {
    @Test("BERT/DeBERTa base at one 128-token sequence on 132 SMs: one wave, the whole K slice (<= 6 chunks) in a CTA")
    func baseShapes() {
        let sms = 132
        #expect(SmallBatchGemmKernel.split(m: 128, n: 2304, k: 768, multiprocessors: sms) == 3)   // QKV: 36 tiles, 108 CTAs
        #expect(SmallBatchGemmKernel.split(m: 128, n: 768, k: 768, multiprocessors: sms) == 6)    // attention output: 12 tiles, 72
        #expect(SmallBatchGemmKernel.split(m: 128, n: 3072, k: 768, multiprocessors: sms) == 2)   // intermediate: 48 tiles, 96
        #expect(SmallBatchGemmKernel.split(m: 128, n: 768, k: 3072, multiprocessors: sms) == 8)   // output: 6 chunks need 8
        #expect(SmallBatchGemmKernel.split(m: 3, n: 64, k: 64, multiprocessors: sms) == 1)        // one chunk: no split
        #expect(SmallBatchGemmKernel.split(m: 65, n: 128, k: 512, multiprocessors: sms) == 8)
    }

    @Test("shapes it refuses: more than 128 rows, no rows, N not a multiple of 32, K not a multiple of 64")
    func refusals() {
        #expect(SmallBatchGemmKernel.split(m: 129, n: 768, k: 768, multiprocessors: 132) == nil)
        #expect(SmallBatchGemmKernel.split(m: 0, n: 768, k: 768, multiprocessors: 132) == nil)
        #expect(SmallBatchGemmKernel.split(m: 16, n: 96, k: 768, multiprocessors: 132) == nil)
        #expect(SmallBatchGemmKernel.split(m: 16, n: 768, k: 100, multiprocessors: 132) == nil)
        #expect(SmallBatchGemmKernel.split(m: 16, n: 768, k: 64 * 49, multiprocessors: 132) == nil)   // no split leaves <= 6 chunks
    }

    @Test("every split it picks has an entry point; K slices and the finishing rows cover everything once",
          arguments: [(128, 768, 768), (128, 768, 3072), (1, 2304, 768), (128, 64, 192), (17, 192, 256), (65, 128, 512), (128, 768, 3072)])
    func partition(m: Int, n: Int, k: Int) throws {
        let split = try #require(SmallBatchGemmKernel.split(m: m, n: n, k: k, multiprocessors: 132))
        #expect(SmallBatchGemmKernel.names.contains("gemm_small_m_s\(split)"))
        #expect(KernelLibrary.source(fp16: true).contains("gemm_small_m_s\(split)(SMALLM_PARAMS)"))
        // Kernel: kPer = K / SPLIT, rank r takes [r*kPer, (r+1)*kPer) in chunks of 64.
        let kPer = k / split
        #expect(kPer % SmallBatchGemmKernel.chunk == 0 && kPer / SmallBatchGemmKernel.chunk <= SmallBatchGemmKernel.maxChunks)
        #expect(SmallBatchGemmKernel.sharedBytes(k: k, split: split) <= SmallBatchGemmKernel.maxSharedBytes)
        var kCovered = [Int](repeating: 0, count: k)
        for rank in 0..<split { for i in (rank * kPer)..<((rank + 1) * kPer) { kCovered[i] += 1 } }
        #expect(kCovered.allSatisfy { $0 == 1 })
        // Kernel: R = ceil(128 / SPLIT); rank r finishes rows [r*R, min(128, r*R + R)).
        let rowsPerRank = (SmallBatchGemmKernel.tileRows + split - 1) / split
        var rowCovered = [Int](repeating: 0, count: SmallBatchGemmKernel.tileRows)
        for rank in 0..<split {
            let begin = rank * rowsPerRank, end = min(SmallBatchGemmKernel.tileRows, begin + rowsPerRank)
            if begin < end { for r in begin..<end { rowCovered[r] += 1 } }
        }
        #expect(rowCovered.allSatisfy { $0 == 1 })
    }

    @Test("the shared memory the launch asks for holds the K slice's chunks of x and W tiles, and the partial tile")
    func sharedBytes() {
        #expect(SmallBatchGemmKernel.chunkBytes == (SmallBatchGemmKernel.tileRows + SmallBatchGemmKernel.tileColumns) * 72 * 2)
        #expect(SmallBatchGemmKernel.source.contains("#define SMALLM_LD 72") && SmallBatchGemmKernel.source.contains("#define SMALLM_PARTIAL_LD 68"))
        #expect(SmallBatchGemmKernel.partialBytes == SmallBatchGemmKernel.tileRows * 68 * 4)
        #expect(SmallBatchGemmKernel.sharedBytes(k: 64, split: 1) == SmallBatchGemmKernel.partialBytes)   // one chunk is smaller
        #expect(SmallBatchGemmKernel.maxSharedBytes <= 227 * 1024)   // an H100/H200 block's opt-in limit
    }
}
