import Foundation

/// HF `BertTokenizerFast` (transformers 4.33 / tokenizers 0.13.3) for WordPiece `vocab.txt` models:
/// added/special tokens cut out of the raw text, `BertNormalizer`, `BertPreTokenizer`, `WordPiece`, and the
/// `[CLS] A [SEP]` / `[CLS] A [SEP] B [SEP]` templates. Ids, tokens and code-point offsets match the
/// fixtures exactly.
///
/// Immutable after `init`, so one instance can serve concurrent requests; every stored property is a `let` of
/// a `Sendable` value type, so the class is `Sendable` without `@unchecked`.
public final class BertTokenizer: Sendable {
    public let configuration: BertTokenizerConfiguration
    /// Token strings by id: the vocabulary lines, then added tokens that were not already in it.
    private let idToToken: [String]
    /// Token -> id for `id(of:)`, keyed by code points (String equality would merge canonically equivalent
    /// vocabulary entries such as U+2126 and U+03A9).
    private let tokenIndex: ScalarSequenceTable
    private let normalizer: BertNormalizer
    private let preTokenizer = BertPreTokenizer()
    private let wordPiece: WordPiece
    private let addedTokenMatcher: AddedTokenMatcher

    public let clsID: Int32
    public let sepID: Int32
    public let padID: Int32
    public let unkID: Int32
    /// Ids of the added tokens passed to `init`, in order.
    public let addedTokenIDs: [Int32]

    /// Vocabulary lines plus added tokens that were not in the vocabulary (`len(tokenizer)` in HF).
    public var vocabularySize: Int { idToToken.count }

    /// The BERT special tokens; HF matches each one that the vocabulary contains literally in raw text.
    public static let specialTokens = ["[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"]

    /// - Parameters:
    ///   - vocabulary: token strings by id (the lines of `vocab.txt`). A duplicated line keeps the id of its
    ///     last occurrence for lookups, as transformers' `load_vocab` does.
    ///   - addedTokens: extra special tokens in HF `add_special_tokens` order. One that is already in the
    ///     vocabulary keeps its id; the others get `vocabulary.count`, `vocabulary.count + 1`, ...
    ///     (Rex: `[PREFIX] [TYPE] [CLASSIFY] [MULTICLASSIFY]` -> 12800...12803).
    public convenience init(
        vocabulary: [String], configuration: BertTokenizerConfiguration = .init(), addedTokens: [String] = []
    ) throws {
        try self.init(
            vocabulary: vocabulary, configuration: configuration, addedTokens: addedTokens, source: "(in memory)")
    }

    init(vocabulary: [String], configuration: BertTokenizerConfiguration, addedTokens: [String], source: String) throws {
        if vocabulary.isEmpty { throw TokenizerError.vocabularyEmpty(source: source) }
        self.configuration = configuration
        let vocabularyKeys = vocabulary.enumerated().map { index, token in
            (scalars: token.unicodeScalars.map(\.value), id: Int32(index))
        }
        let vocabularyIndex = ScalarSequenceTable(keys: vocabularyKeys)
        func vocabularyID(_ token: String) -> Int32? { vocabularyIndex.find(token.unicodeScalars.map(\.value)) }
        func required(_ token: String) throws -> Int32 {
            guard let id = vocabularyID(token) else {
                throw TokenizerError.missingSpecialToken(token: token, source: source)
            }
            return id
        }
        clsID = try required("[CLS]")
        sepID = try required("[SEP]")
        padID = try required("[PAD]")
        unkID = try required("[UNK]")

        var idToToken = vocabulary
        var matched: [(content: String, id: Int32)] = Self.specialTokens.compactMap { token in
            vocabularyID(token).map { (token, $0) }
        }
        var addedIDs: [Int32] = []
        var newTokens: [(scalars: [UInt32], id: Int32)] = []
        for token in addedTokens {
            if token.unicodeScalars.isEmpty {
                throw TokenizerError.invalidAddedToken(token: token, reason: "it is empty")
            }
            if let existing = matched.first(where: { $0.content.unicodeScalars.elementsEqual(token.unicodeScalars) }) {
                addedIDs.append(existing.id)
                continue
            }
            let scalars = token.unicodeScalars.map(\.value)
            let id: Int32
            if let existing = vocabularyIndex.find(scalars) {
                id = existing
            } else {
                id = Int32(idToToken.count)
                idToToken.append(token)
                newTokens.append((scalars, id))
            }
            matched.append((token, id))
            addedIDs.append(id)
        }
        self.idToToken = idToToken
        self.addedTokenIDs = addedIDs
        self.tokenIndex = newTokens.isEmpty ? vocabularyIndex : ScalarSequenceTable(keys: vocabularyKeys + newTokens)
        self.addedTokenMatcher = AddedTokenMatcher(tokens: matched)
        self.normalizer = BertNormalizer(configuration: configuration)
        self.wordPiece = WordPiece(vocabularyKeys: vocabularyKeys, vocabularyIndex: vocabularyIndex, unknownID: unkID)
    }

    /// Loads `vocab.txt` and, if present, `tokenizer_config.json` (HF defaults otherwise) from a model directory.
    public static func load(modelDirectory: URL, addedTokens: [String] = []) throws -> BertTokenizer {
        let vocabularyURL = modelDirectory.appendingPathComponent("vocab.txt")
        let configurationURL = modelDirectory.appendingPathComponent("tokenizer_config.json")
        let configuration = FileManager.default.fileExists(atPath: configurationURL.path)
            ? try BertTokenizerConfiguration.load(from: configurationURL)
            : BertTokenizerConfiguration()
        let vocabulary = try Vocabulary.load(contentsOf: vocabularyURL)
        return try BertTokenizer(
            vocabulary: vocabulary.tokens, configuration: configuration, addedTokens: addedTokens,
            source: vocabularyURL.path)
    }

    /// The id of a vocabulary or added token (exact code points, no normalization).
    public func id(of token: String) -> Int32? {
        tokenIndex.find(token.unicodeScalars.map(\.value))
    }

    /// The string of an id, or `nil` outside `0..<vocabularySize`.
    public func token(of id: Int32) -> String? {
        id >= 0 && Int(id) < idToToken.count ? idToToken[Int(id)] : nil
    }

    /// `tokenizer(text)`: `[CLS] text [SEP]` (or just the text's tokens), type ids 0, mask 1.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> Encoding {
        let pieces = tokenize(text)
        let specials = addSpecialTokens ? [clsID, sepID] : []
        return Encoding(
            assembling: [.specials(specials.prefix(1)), .text(pieces, 0..<pieces.ids.count), .specials(specials.dropFirst())],
            typeIDs: [0, 0, 0], tokenStrings: idToToken)
    }

    /// Ids and code-point offsets of `text` without specials: the whole pipeline before post-processing.
    func tokenize(_ text: String) -> TokenizedText {
        var raw: [UInt32] = []
        raw.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars { raw.append(scalar.value) }
        var result = TokenizedText()
        result.ids.reserveCapacity(raw.count + 2)
        result.offsets.reserveCapacity(raw.count + 2)
        let slots = max(1, raw.count * BertNormalizer.maxExpansion)
        raw.withUnsafeBufferPointer { raw in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: slots) { scalars in
                withUnsafeTemporaryAllocation(of: Int32.self, capacity: slots) { origins in
                    withUnsafeTemporaryAllocation(of: UInt64.self, capacity: wordPiece.maxInputCharsPerWord) { hashes in
                        var scratch = TokenizationScratch(
                            normalized: NormalizedText(scalars: scalars, origins: origins), capacity: raw.count)
                        // Added tokens split the raw text; the pieces between them are normalized separately.
                        var segmentStart = 0
                        var position = 0
                        while position < raw.count {
                            if let match = addedTokenMatcher.match(raw, at: position) {
                                tokenizeSegment(raw, segmentStart..<position, hashes: hashes, scratch: &scratch, into: &result)
                                result.ids.append(match.id)
                                result.offsets.append(TokenOffset(start: position, end: position + match.length))
                                position += match.length
                                segmentStart = position
                            } else {
                                position += 1
                            }
                        }
                        tokenizeSegment(raw, segmentStart..<raw.count, hashes: hashes, scratch: &scratch, into: &result)
                    }
                }
            }
        }
        return result
    }

    /// Normalizes, pre-tokenizes and WordPiece-splits `raw[range]` (text without added tokens).
    private func tokenizeSegment(
        _ raw: UnsafeBufferPointer<UInt32>, _ range: Range<Int>, hashes: UnsafeMutableBufferPointer<UInt64>,
        scratch: inout TokenizationScratch, into result: inout TokenizedText
    ) {
        if range.isEmpty { return }
        scratch.normalized.reset()
        normalizer.normalize(raw, range, into: &scratch.normalized)
        // Words and pieces of earlier segments stay in the scratch arrays; only the new ones are read.
        let firstWord = scratch.words.count
        let firstPiece = scratch.pieces.count
        let scalars = UnsafeBufferPointer(rebasing: scratch.normalized.scalars[0..<scratch.normalized.count])
        preTokenizer.words(scalars, into: &scratch.words)
        for word in scratch.words[firstWord...] {
            wordPiece.tokenize(scalars, word: word, hashes: hashes, into: &scratch.pieces)
        }
        let origins = scratch.normalized.origins
        for piece in scratch.pieces[firstPiece...] {
            // HF reports the hull of the original ranges behind the piece's normalized chars.
            var start = origins[piece.start]
            var end = start
            for index in (piece.start + 1)..<piece.end {
                start = min(start, origins[index])
                end = max(end, origins[index])
            }
            result.ids.append(piece.id)
            result.offsets.append(TokenOffset(start: Int(start), end: Int(end) + 1))
        }
    }

    func tokenString(_ id: Int32) -> String { idToToken[Int(id)] }
    var tokenStrings: [String] { idToToken }
}
