/// A sequence's ids and offsets before the template adds specials.
struct TokenizedText {
    var ids: [Int32] = []
    var offsets: [TokenOffset] = []
}

/// Buffers reused across the segments of one `tokenize` call.
struct TokenizationScratch {
    var normalized: NormalizedText
    var words: [Range<Int>] = []
    var pieces: [WordPiece.Piece] = []

    init(normalized: NormalizedText, capacity: Int) {
        self.normalized = normalized
        words.reserveCapacity(capacity)
        pieces.reserveCapacity(capacity)
    }
}
