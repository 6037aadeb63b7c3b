/// HF `models::WordPiece` (tokenizers 0.13.3): greedy longest-match-first over one pre-tokenized word,
/// continuation pieces looked up with the `##` prefix; a word longer than `maxInputCharsPerWord` code points,
/// or one with any position where no piece matches, becomes a single `[UNK]` spanning the whole word.
struct WordPiece: Sendable {
    /// One output piece: its id and its range in the normalized buffer.
    struct Piece {
        var id: Int32
        var start: Int
        var end: Int
    }

    static let continuingSubwordPrefix = "##"
    static let maxInputCharsPerWordDefault = 100

    /// Every vocabulary token, for the first piece of a word.
    private let wordStarts: ScalarSequenceTable
    /// Vocabulary tokens that start with `##`, keyed without the prefix, for the later pieces.
    private let continuations: ScalarSequenceTable
    let unknownID: Int32
    let maxInputCharsPerWord: Int

    /// - Parameters:
    ///   - vocabularyKeys: every vocabulary token as code points, with its id.
    ///   - vocabularyIndex: the table built from `vocabularyKeys` (shared with the tokenizer's `id(of:)`).
    init(
        vocabularyKeys: [(scalars: [UInt32], id: Int32)], vocabularyIndex: ScalarSequenceTable, unknownID: Int32,
        maxInputCharsPerWord: Int = maxInputCharsPerWordDefault
    ) {
        let prefix = Array(Self.continuingSubwordPrefix.unicodeScalars.map(\.value))
        wordStarts = vocabularyIndex
        continuations = ScalarSequenceTable(
            keys: vocabularyKeys.filter { $0.scalars.starts(with: prefix) }.map {
                (Array($0.scalars.dropFirst(prefix.count)), $0.id)
            })
        self.unknownID = unknownID
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    /// Appends the pieces of `buffer[word]` to `pieces`. `hashes` is scratch space of at least
    /// `maxInputCharsPerWord` elements.
    @inline(__always)
    func tokenize(
        _ buffer: UnsafeBufferPointer<UInt32>, word: Range<Int>, hashes: UnsafeMutableBufferPointer<UInt64>,
        into pieces: inout [Piece]
    ) {
        if word.count > maxInputCharsPerWord {
            pieces.append(Piece(id: unknownID, start: word.lowerBound, end: word.upperBound))
            return
        }
        let firstPiece = pieces.count
        var start = word.lowerBound
        while start < word.upperBound {
            let isFirst = start == word.lowerBound
            let longest = min(word.upperBound, start + (isFirst ? wordStarts.maxKeyLength : continuations.maxKeyLength))
            // Hash every prefix buffer[start..<end] once; then try them from the longest down.
            var hash = ScalarSequenceTable.seed
            for index in start..<longest {
                hash = ScalarSequenceTable.step(hash, buffer[index])
                hashes[index - start] = hash
            }
            var matched: Int32?
            var end = longest
            while end > start {
                let hash = hashes[end - start - 1]
                let found = isFirst
                    ? wordStarts.find(hash: hash, in: buffer, start..<end)
                    : continuations.find(hash: hash, in: buffer, start..<end)
                if let id = found {
                    matched = id
                    break
                }
                end -= 1
            }
            guard let id = matched else {
                if pieces.count > firstPiece { pieces.removeSubrange(firstPiece...) }
                pieces.append(Piece(id: unknownID, start: word.lowerBound, end: word.upperBound))
                return
            }
            pieces.append(Piece(id: id, start: start, end: end))
            start = end
        }
    }
}
