import Testing
@testable import UniNLUCUDA

// Row counts whose GEMMs share one autotune (GemmEngine.reuseClassTiming): those of the same row
// class, so a server meeting a new batch length reuses a timing instead of stopping to time.
@Suite("GEMM row classes")
struct GemmRowClassTests {
    @Test("up to 128 rows a class is the next power of two; above, each row count is its own")
    func classes() {
        #expect([1, 2, 3, 4, 5, 64, 65, 127, 128].map(GemmEngine.rowClass) == [1, 2, 4, 4, 8, 64, 128, 128, 128])
        #expect([129, 200, 256, 1500, 1600, 2048].map(GemmEngine.rowClass) == [129, 200, 256, 1500, 1600, 2048])
        #expect(GemmEngine.rowClass(0) == 1)
    }

    @Test("row counts of one class share it; over 128 rows none do")
    func sharing() {
        #expect(GemmEngine.rowClass(100) == GemmEngine.rowClass(120))
        #expect(GemmEngine.rowClass(65) == GemmEngine.rowClass(128))
        #expect(GemmEngine.rowClass(128) != GemmEngine.rowClass(129))
        // 8x200 and 5x300 with the algorithms of 14x128 and 12x128: 2-10% slower forwards.
        #expect(GemmEngine.rowClass(1600) != GemmEngine.rowClass(14 * 128))
        #expect(GemmEngine.rowClass(1500) != GemmEngine.rowClass(12 * 128))
    }
}
