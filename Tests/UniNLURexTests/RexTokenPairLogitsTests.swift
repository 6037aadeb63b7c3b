import Testing
import UniNLUCore

// The jobs of one forward share one packed Z: each job's logits are a view (count, offset) into it.

@Suite("RexTokenPairLogits views into a packed forward")
struct RexTokenPairLogitsTests {
    @Test("views read their own block, compare by value, and refuse blocks past the end")
    func views() throws {
        // Two jobs packed: 2 x 2 then 3 x 3.
        let packed: [Float] = [1, 2, 3, 4] + [5, 6, 7, 8, 9, 10, 11, 12, 13]
        let first = try RexTokenPairLogits(count: 2, packed: packed, offset: 0)
        let second = try RexTokenPairLogits(count: 3, packed: packed, offset: 4)
        #expect(first[1, 0] == 3)
        #expect(second[0, 0] == 5 && second[2, 1] == 12 && second[2, 2] == 13)
        #expect(second.values == [5, 6, 7, 8, 9, 10, 11, 12, 13])
        // Equal to the same values held alone; not equal to another block of the same size.
        #expect(second == RexTokenPairLogits(count: 3, values: [5, 6, 7, 8, 9, 10, 11, 12, 13]))
        #expect(first != RexTokenPairLogits(count: 2, values: [1, 2, 3, 5]))
        #expect(try RexTokenPairLogits(count: 0, packed: packed, offset: 13).values.isEmpty)
        #expect(throws: RexForwardError.self) { try RexTokenPairLogits(count: 3, packed: packed, offset: 5) }
        #expect(throws: RexForwardError.self) { try RexTokenPairLogits(count: 1, packed: packed, offset: -1) }
    }
}
