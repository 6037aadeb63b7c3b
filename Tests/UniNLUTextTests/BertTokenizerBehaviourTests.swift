import Foundation
import Testing
import UniNLUText

/// Claims beyond the recorded fixtures. Expected values were produced with transformers 4.33.0 /
/// tokenizers 0.13.3 `BertTokenizerFast` on the siamese_uie vocab (the same versions as the fixtures).
@Suite("BertTokenizer behaviour")
struct BertTokenizerBehaviourTests {
    private var siamese: BertTokenizer { get throws { try ModelFixture.siameseUIE.tokenizer } }
    private var rex: BertTokenizer { get throws { try ModelFixture.rexUniNLU.tokenizer } }
    private static let siameseVocabulary = Result {
        try Vocabulary.load(contentsOf: ModelFixture.siameseUIE.modelDirectory.appendingPathComponent("vocab.txt")).tokens
    }

    @Test("a word of 101 code points is one [UNK] spanning it; 100 are still split into pieces")
    func maxInputCharsPerWord() throws {
        let tokenizer = try siamese
        let long = tokenizer.encode(String(repeating: "a", count: 101))
        #expect(long.tokens == ["[CLS]", "[UNK]", "[SEP]"])
        #expect(long.offsets[1] == TokenOffset(start: 0, end: 101))
        let mixed = tokenizer.encode("x" + String(repeating: "a", count: 100))
        #expect(mixed.ids == [101, 100, 102])
        let limit = tokenizer.encode(String(repeating: "a", count: 100))
        #expect(limit.tokens.count == 52)
        #expect(Array(limit.tokens.prefix(3)) == ["[CLS]", "aaa", "##aa"])
        #expect(limit.tokens[50] == "##a" && limit.offsets[50] == TokenOffset(start: 99, end: 100))
    }

    @Test("a word with an unmatchable position becomes one [UNK] over the whole word")
    func unmatchedWord() throws {
        let tokenizer = try siamese
        let encoding = tokenizer.encode("ǅİΣ")
        #expect(encoding.tokens == ["[CLS]", "[UNK]", "[SEP]"])
        #expect(encoding.offsets[1] == TokenOffset(start: 0, end: 3))
    }

    @Test("lowercase + strip accents map offsets back to the original code points")
    func normalizationOffsets() throws {
        let encoding = try siamese.encode("Hello Ünïcode café")
        #expect(encoding.ids == [101, 8701, 12024, 8377, 102])
        #expect(encoding.tokens == ["[CLS]", "hello", "unicode", "cafe", "[SEP]"])
        #expect(encoding.offsets.pairs == [[0, 0], [0, 5], [6, 13], [14, 18], [0, 0]])
    }

    @Test("U+2028 in text is whitespace, not the vocabulary token 343")
    func lineSeparatorInText() throws {
        let encoding = try siamese.encode("a\u{2028}b")
        #expect(encoding.ids == [101, 143, 144, 102])
        #expect(encoding.offsets.pairs == [[0, 0], [0, 1], [2, 3], [0, 0]])
    }

    @Test("BERT specials are cut out of raw text case-sensitively; lowercase look-alikes are plain text")
    func specialsInRawText() throws {
        let encoding = try siamese.encode("[CLS][cls][MASK]x")
        #expect(encoding.ids == [101, 101, 138, 12847, 8118, 140, 103, 166, 102])
        #expect(encoding.offsets.pairs == [[0, 0], [0, 5], [5, 6], [6, 8], [8, 9], [9, 10], [10, 16], [16, 17], [0, 0]])
    }

    @Test("Rex added tokens get ids 12800-12803 and are matched in raw text with real offsets")
    func rexAddedTokens() throws {
        let tokenizer = try rex
        #expect(tokenizer.vocabularySize == 12804)
        #expect(tokenizer.addedTokenIDs == [12800, 12801, 12802, 12803])
        #expect(tokenizer.id(of: "[MULTICLASSIFY]") == 12803)
        #expect(tokenizer.token(of: 12801) == "[TYPE]")
        #expect(tokenizer.token(of: 12804) == nil && tokenizer.token(of: -1) == nil)
        #expect([tokenizer.padID, tokenizer.clsID, tokenizer.sepID, tokenizer.unkID] == [0, 1, 2, 3])
        let encoding = tokenizer.encode("[PREFIX][TYPE]人物")
        #expect(encoding.ids == [1, 12800, 12801, 348, 4224, 2])
        #expect(encoding.offsets.pairs == [[0, 0], [0, 8], [8, 14], [14, 15], [15, 16], [0, 0]])
    }

    @Test("an added token already in the vocabulary keeps its id; new ones follow the vocabulary")
    func addedTokenIDs() throws {
        let vocabulary = try Self.siameseVocabulary.get()
        let tokenizer = try BertTokenizer(
            vocabulary: vocabulary, configuration: .init(), addedTokens: ["[unused1]", "<new>", "[CLS]", "<new>"])
        #expect(tokenizer.addedTokenIDs == [1, 21128, 101, 21128])
        #expect(tokenizer.vocabularySize == 21129)
        #expect(tokenizer.encode("a<new>[unused1]").ids == [101, 143, 21128, 1, 102])
        #expect(throws: TokenizerError.self) {
            try BertTokenizer(vocabulary: vocabulary, configuration: .init(), addedTokens: [""])
        }
    }

    @Test("overlapping added tokens: the leftmost match wins, then the longest")
    func leftmostLongest() throws {
        let vocabulary = try Self.siameseVocabulary.get()
        let tokenizer = try BertTokenizer(vocabulary: vocabulary, configuration: .init(), addedTokens: ["<a>", "<a>b", "b>"])
        #expect(tokenizer.encode("x<a>by").ids == [101, 166, 21129, 167, 102])
        let overlap = tokenizer.encode("<a>b>")
        #expect(overlap.tokens == ["[CLS]", "<a>b", ">", "[SEP]"])
        #expect(overlap.offsets.pairs == [[0, 0], [0, 4], [4, 5], [0, 0]])
        #expect(tokenizer.encode("<a><a>b").ids == [101, 21128, 21129, 102])
    }

    @Test("addSpecialTokens: false gives the bare text tokens")
    func withoutSpecials() throws {
        let encoding = try siamese.encode("中文", addSpecialTokens: false)
        #expect(encoding.ids == [704, 3152])
        #expect(encoding.offsets.pairs == [[0, 1], [1, 2]])
        #expect(try siamese.encode("", addSpecialTokens: false).count == 0)
    }

    @Test("tokenizer_config switches behave like HF's BertTokenizerFast arguments")
    func configurationVariants() throws {
        let vocabulary = try Self.siameseVocabulary.get()
        func encode(_ text: String, _ configuration: BertTokenizerConfiguration) throws -> [Int32] {
            try BertTokenizer(vocabulary: vocabulary, configuration: configuration).encode(text).ids
        }
        let text = "Hello Ünïcode café"
        // do_lower_case=False (accents kept as well, since strip_accents follows lowercase).
        #expect(try encode(text, .init(doLowerCase: false)) == [101, 100, 100, 100, 102])
        // strip_accents=False with lowercasing.
        #expect(try encode(text, .init(stripAccents: false)) == [101, 8701, 100, 100, 102])
        // strip_accents=True without lowercasing.
        #expect(try encode(text, .init(doLowerCase: false, stripAccents: true)) == [101, 100, 100, 8377, 102])
        // tokenize_chinese_chars=False: ideographs join into words and get ## continuations.
        let tokenizer = try BertTokenizer(vocabulary: vocabulary, configuration: .init(tokenizeChineseChars: false))
        let chinese = tokenizer.encode("中文字 你好")
        #expect(chinese.ids == [101, 704, 16209, 15156, 872, 15019, 102])
        #expect(chinese.tokens[2] == "##文")
        #expect(chinese.offsets.pairs == [[0, 0], [0, 1], [1, 2], [2, 3], [4, 5], [5, 6], [0, 0]])
    }

    @Test("encodeBatch without padding only truncates; maxLength 2 leaves [CLS] [SEP]")
    func batchWithoutPadding() throws {
        let tokenizer = try siamese
        let encodings = tokenizer.encodeBatch(["人物: ", "组织机构: "], maxLength: 128, padToLongest: false)
        #expect(encodings.map(\.count) == [5, 7])
        #expect(encodings.allSatisfy { $0.attentionMask.allSatisfy { $0 == 1 } })
        let tiny = tokenizer.encodeBatch(["组织机构"], maxLength: 2, padToLongest: true)
        #expect(tiny[0].ids == [101, 102])
        let padded = tokenizer.encodeBatch(["人物", "组织机构"], maxLength: 5, padToLongest: true)
        #expect(padded[0].ids == [101, 782, 4289, 102, 0])
        #expect(padded[0].tokens.last == "[PAD]" && padded[0].offsets.last == TokenOffset.none)
        #expect(padded[1].ids == [101, 5299, 5302, 3322, 102])
        #expect(tokenizer.encodeBatch([], maxLength: 8, padToLongest: true).isEmpty)
    }

    @Test("one shared tokenizer gives identical results from concurrent tasks")
    func concurrentUse() async throws {
        let tokenizer = try rex
        let texts = try ModelFixture.rexUniNLU.recording.items.map(\.text)
        let expected = texts.map { tokenizer.encode($0) }
        let results = await withTaskGroup(of: (Int, Encoding).self) { group in
            for (index, text) in texts.enumerated() {
                group.addTask { (index, tokenizer.encode(text)) }
            }
            var collected = [Encoding?](repeating: nil, count: texts.count)
            for await (index, encoding) in group { collected[index] = encoding }
            return collected
        }
        #expect(results == expected.map(Optional.some))
    }
}
