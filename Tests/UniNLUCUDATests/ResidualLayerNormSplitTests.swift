import Testing
@testable import UniNLUCUDA

// Which split counts the fused linear + residual + LayerNorm may time for a shape: slices of whole
// 16-byte rows, and FP32 partial products under the cap (wide batches keep the unfused path).
@Suite("linear + residual + LayerNorm split counts")
struct ResidualLayerNormSplitTests {
    @Test("base-size shapes at 128 rows may take every split count")
    func smallBatch() {
        #expect(ResidualLayerNormKernel.splits(rows: 128, out: 768, in: 3072, elementSize: 2) == [1, 2, 3, 4])
        #expect(ResidualLayerNormKernel.splits(rows: 128, out: 768, in: 768, elementSize: 2) == [1, 2, 3, 4])
    }

    @Test("slices must be whole 16-byte rows of the operands")
    func alignment() {
        // 1,024 FP16 columns: 3 does not divide it.
        #expect(ResidualLayerNormKernel.splits(rows: 5, out: 512, in: 1024, elementSize: 2) == [1, 2, 4])
        // 24 FP16 columns: 3 slices of 8 values are 16 bytes each; 2 and 4 slices are not whole 16-byte rows.
        #expect(ResidualLayerNormKernel.splits(rows: 5, out: 256, in: 24, elementSize: 2) == [1, 3])
        // 100 columns: no slice is a multiple of 8 FP16 values.
        #expect(ResidualLayerNormKernel.splits(rows: 9, out: 256, in: 100, elementSize: 2).isEmpty)
        // FP32: 4 values make 16 bytes (100 = 4 x 25; 2 slices of 50 are not).
        #expect(ResidualLayerNormKernel.splits(rows: 9, out: 256, in: 100, elementSize: 4) == [1])
    }

    @Test("partial products over the cap leave wide batches unfused")
    func cap() {
        // 128 x 128 tokens: 16,384 x 768 FP32 values are 48 MiB for a single slice.
        #expect(ResidualLayerNormKernel.splits(rows: 16_384, out: 768, in: 3072, elementSize: 2).isEmpty)
        // 8 x 512 tokens: one slice is 12 MiB, two 24, three 36 (over 32).
        #expect(ResidualLayerNormKernel.splits(rows: 4096, out: 768, in: 3072, elementSize: 2) == [1, 2])
    }

    @Test("a timed choice is shared by row counts up to the same power of two")
    func rowBuckets() {
        typealias Shape = ResidualLayerNormOp.Shape
        #expect(Shape(rows: 128, out: 768, in: 3072) == Shape(rows: 65, out: 768, in: 3072))
        #expect(Shape(rows: 129, out: 768, in: 3072) == Shape(rows: 256, out: 768, in: 3072))
        #expect(Shape(rows: 128, out: 768, in: 3072) != Shape(rows: 129, out: 768, in: 3072))
        #expect(Shape(rows: 1, out: 768, in: 768).m == 1)
        #expect(Shape(rows: 300, out: 768, in: 768).m == 512)
    }

    @Test("the timed choice is the fastest candidate, a tie going to fewer slices")
    func pick() {
        #expect(ResidualLayerNormOp.pick([(0, 9.97), (1, 10.02), (2, 8.58), (3, 8.59), (4, 8.79)]) == 2)
        #expect(ResidualLayerNormOp.pick([(3, 8.5), (2, 8.5), (0, 9)]) == 2)
        #expect(ResidualLayerNormOp.pick([(0, 6.98), (2, 6.98)]) == 0)
        #expect(ResidualLayerNormOp.pick([(0, 7.0), (1, 6.9)]) == 1)
        #expect(ResidualLayerNormOp.pick([]) == 0)
    }
}
