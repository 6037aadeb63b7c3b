import Testing
import UniNLUText

/// `encodePairWindows` beyond the fixture: HF 0.13.3 panics (`assertion failed: stride < max_len`) or raises
/// ("Sequence to truncate too short") where the room left for the second sequence is too small; we throw.
@Suite("Pair windows and their limits")
struct PairWindowTests {
    private var tokenizer: BertTokenizer { get throws { try ModelFixture.rexUniNLU.tokenizer } }

    @Test("a budget not larger than the stride throws windowBudgetTooSmall instead of panicking")
    func budgetNotAboveStride() throws {
        let tokenizer = try tokenizer
        // first: [PREFIX] [TYPE] + 8 ideographs = 10 tokens; maxLength 16 leaves 16 - 3 - 10 = 3 <= stride 4.
        let first = "[PREFIX][TYPE]一二三四五六七八"
        let second = String(repeating: "中", count: 20)
        do {
            _ = try tokenizer.encodePairWindows(first: first, second: second, maxLength: 16, stride: 4)
            Issue.record("expected windowBudgetTooSmall")
        } catch let error as TokenizerError {
            #expect(error == .windowBudgetTooSmall(firstTokens: 10, secondTokens: 20, maxLength: 16, stride: 4, budget: 3))
            #expect(error.description.contains("stride=4"))
        }
        // A budget equal to the stride fails too (budget 4, stride 4).
        #expect(throws: TokenizerError.windowBudgetTooSmall(firstTokens: 10, secondTokens: 20, maxLength: 17, stride: 4, budget: 4)) {
            try tokenizer.encodePairWindows(first: first, second: second, maxLength: 17, stride: 4)
        }
        // One more token of room (budget 4 > stride 3) works: chunks of 4 advancing by 1 (values from HF).
        let windows = try tokenizer.encodePairWindows(first: first, second: second, maxLength: 17, stride: 3)
        #expect(windows.count == 17)
        #expect(windows[1].offsets[12] == TokenOffset(start: 1, end: 2))
    }

    @Test("a first sequence that leaves no room throws (budget <= 0)")
    func noRoom() throws {
        let tokenizer = try tokenizer
        let first = String(repeating: "一", count: 30)
        #expect(throws: TokenizerError.windowBudgetTooSmall(firstTokens: 30, secondTokens: 2, maxLength: 32, stride: 0, budget: -1)) {
            try tokenizer.encodePairWindows(first: first, second: "中文", maxLength: 32, stride: 0)
        }
    }

    @Test("a pair that fits is one window even when its budget is below the stride (HF does not panic there)")
    func fitsWithoutCutting() throws {
        let tokenizer = try tokenizer
        let windows = try tokenizer.encodePairWindows(first: "[PREFIX][TYPE]人物", second: "北京", maxLength: 9, stride: 32)
        #expect(windows.count == 1)
        #expect(windows[0].ids == [1, 12800, 12801, 348, 4224, 2, 859, 339, 2])
        #expect(windows[0].typeIds == [0, 0, 0, 0, 0, 0, 1, 1, 1])
    }

    @Test("an empty second string is not a pair for transformers: [CLS] first [SEP]")
    func emptySecond() throws {
        let tokenizer = try tokenizer
        let windows = try tokenizer.encodePairWindows(first: "[PREFIX][TYPE]人物", second: "", maxLength: 512, stride: 32)
        #expect(windows.count == 1)
        #expect(windows[0].ids == [1, 12800, 12801, 348, 4224, 2])
        #expect(windows[0].typeIds.allSatisfy { $0 == 0 })
        // A second string of only spaces has zero tokens but is a pair.
        #expect(try tokenizer.encodePairWindows(first: "人", second: " ", maxLength: 512, stride: 32)[0].ids == [1, 348, 2, 2])
    }

    @Test("maxLength below 3 or a negative stride is rejected up front")
    func invalidArguments() throws {
        let tokenizer = try tokenizer
        #expect(throws: TokenizerError.self) { try tokenizer.encodePairWindows(first: "a", second: "b", maxLength: 2, stride: 0) }
        #expect(throws: TokenizerError.self) { try tokenizer.encodePairWindows(first: "a", second: "b", maxLength: 64, stride: -1) }
    }

    @Test("windows start at k * (budget - stride) and the last one ends at the last text token")
    func windowStarts() throws {
        let tokenizer = try tokenizer
        let second = String(repeating: "中", count: 50)
        // budget = 20 - 3 - 2 = 15, step 15 - 5 = 10: chunks [0,15) [10,25) [20,35) [30,45) [40,50).
        let windows = try tokenizer.encodePairWindows(first: "人物", second: second, maxLength: 20, stride: 5)
        let chunkStarts = windows.map { $0.offsets[4].start }
        #expect(chunkStarts == [0, 10, 20, 30, 40])
        #expect(windows.last?.offsets.dropLast().last == TokenOffset(start: 49, end: 50))
        #expect(windows.dropLast().allSatisfy { $0.count == 20 })
    }
}
