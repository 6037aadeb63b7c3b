import Foundation
import Testing
import UniNLUText

@Suite("vocab.txt parsing")
struct VocabularyTests {
    /// A fresh temporary directory per test.
    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("uninlu-text-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("U+2028 lines are tokens 343 and 13502 of the bert-base-chinese vocab (split on \\n only)")
    func lineSeparatorTokens() throws {
        let url = ModelFixture.siameseUIE.modelDirectory.appendingPathComponent("vocab.txt")
        let vocabulary = try Vocabulary.load(contentsOf: url)
        #expect(vocabulary.tokens.count == 21128)
        #expect(vocabulary.tokens[343].unicodeScalars.map(\.value) == [0x2028])
        #expect(vocabulary.tokens[13502].unicodeScalars.map(\.value) == [0x23, 0x23, 0x2028])
        // Ids after them stay aligned with HF: the recorded specials sit where they should.
        #expect(vocabulary.tokens[100] == "[UNK]" && vocabulary.tokens[21127] == "##😎")
        let tokenizer = try ModelFixture.siameseUIE.tokenizer
        #expect(tokenizer.id(of: "\u{2028}") == 343)
        #expect(tokenizer.id(of: "##\u{2028}") == 13502)
        #expect(tokenizer.token(of: 13502) == "##\u{2028}")
        // Splitting on all newlines (what `.newlines` would do) would lose two ids.
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.components(separatedBy: .newlines).filter { !$0.isEmpty }.count != vocabulary.tokens.count)
    }

    @Test("lines split on \\n, \\r\\n and \\r like Python's universal newlines; nothing else is trimmed")
    func lineBreaks() throws {
        let data = Data("[PAD]\r\n[UNK]\r[CLS]\n[SEP]\n\n\u{FEFF}a\nb \n##b".utf8)
        let directory = try temporaryDirectory()
        let url = directory.appendingPathComponent("vocab.txt")
        try data.write(to: url)
        let vocabulary = try Vocabulary.load(contentsOf: url)
        // Checked against transformers 4.33.0 `BertTokenizerFast(vocab_file).get_vocab()`.
        #expect(vocabulary.tokens == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "", "\u{FEFF}a", "b ", "##b"])
        try? FileManager.default.removeItem(at: directory)
    }

    @Test("a trailing newline does not add a token")
    func trailingNewline() throws {
        let directory = try temporaryDirectory()
        let url = directory.appendingPathComponent("vocab.txt")
        try Data("[PAD]\n[UNK]\n".utf8).write(to: url)
        #expect(try Vocabulary.load(contentsOf: url).tokens == ["[PAD]", "[UNK]"])
        try? FileManager.default.removeItem(at: directory)
    }

    @Test("a missing vocab.txt is an error naming the file")
    func missingFile() throws {
        let directory = try temporaryDirectory()
        do {
            _ = try BertTokenizer.load(modelDirectory: directory)
            Issue.record("loading a directory without vocab.txt must throw")
        } catch let error as TokenizerError {
            guard case .vocabularyUnreadable(let path, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(path.hasSuffix("vocab.txt"))
            #expect(error.description.contains("vocab.txt"))
        }
        try? FileManager.default.removeItem(at: directory)
    }

    @Test("an empty vocab.txt is an error naming the file")
    func emptyFile() throws {
        let directory = try temporaryDirectory()
        let url = directory.appendingPathComponent("vocab.txt")
        try Data().write(to: url)
        #expect(throws: TokenizerError.vocabularyEmpty(source: url.path)) {
            try BertTokenizer.load(modelDirectory: directory)
        }
        #expect(throws: TokenizerError.vocabularyEmpty(source: "(in memory)")) {
            try BertTokenizer(vocabulary: [])
        }
        try? FileManager.default.removeItem(at: directory)
    }

    @Test("invalid UTF-8 is an error naming the 1-based line")
    func invalidUTF8() throws {
        let directory = try temporaryDirectory()
        let url = directory.appendingPathComponent("vocab.txt")
        try Data([0x61, 0x0A, 0x62, 0x0A, 0xFF, 0xFE, 0x0A]).write(to: url)
        #expect(throws: TokenizerError.vocabularyInvalidUTF8(path: url.path, line: 3)) {
            try Vocabulary.load(contentsOf: url)
        }
        try? FileManager.default.removeItem(at: directory)
    }

    @Test("a vocabulary without [CLS], [SEP], [PAD] or [UNK] is rejected")
    func missingSpecials() {
        #expect(throws: TokenizerError.missingSpecialToken(token: "[SEP]", source: "(in memory)")) {
            try BertTokenizer(vocabulary: ["[PAD]", "[UNK]", "[CLS]", "a"])
        }
    }
}
