extension BertTokenizer {
    /// `tokenizer(texts, padding=padToLongest, truncation=True, max_length=maxLength)`: each text becomes
    /// `[CLS] text [SEP]` cut to at most `maxLength` tokens by dropping text tokens from the end (the final
    /// `[SEP]` is kept), then, if `padToLongest`, right-padded with `[PAD]` (type 0, mask 0, offset (0, 0)) to
    /// the longest encoding of the batch. A `maxLength` below 2 is treated as 2 (`[CLS] [SEP]`).
    public func encodeBatch(_ texts: [String], maxLength: Int, padToLongest: Bool) -> [Encoding] {
        let budget = max(0, maxLength - 2)
        var encodings = texts.map { text -> Encoding in
            let pieces = tokenize(text)
            return Encoding(
                assembling: [.specials([clsID]), .text(pieces, 0..<min(pieces.ids.count, budget)), .specials([sepID])],
                typeIDs: [0, 0, 0], tokenStrings: tokenStrings)
        }
        guard padToLongest, let longest = encodings.map(\.count).max() else { return encodings }
        let padToken = tokenString(padID)
        for index in encodings.indices where encodings[index].count < longest {
            encodings[index].pad(count: longest - encodings[index].count, id: padID, token: padToken)
        }
        return encodings
    }

    /// `tokenizer(first, second, truncation="only_second", max_length=maxLength, stride=stride,
    /// return_overflowing_tokens=True)`: the encoding followed by its overflows, each
    /// `[CLS] first [SEP] chunk [SEP]` with type ids 0 up to the first `[SEP]` and 1 after it.
    ///
    /// Window semantics of HF `Encoding::truncate`: with `n` tokens in `second` and
    /// `budget = maxLength - 3 - tokens(first)`, a pair that fits (`tokens(first) + n <= maxLength - 3`) is one
    /// window; otherwise chunks start at `k * (budget - stride)` and end at `min(start + budget, n)`, stopping
    /// after the chunk that reaches `n`. `first` is never cut. Offsets are relative to the string each token
    /// came from. An empty `second` string is not a pair for transformers (`if text_pair:`): the result is
    /// `[CLS] first [SEP]` alone.
    ///
    /// - Throws: `TokenizerError.invalidWindowArguments` when `maxLength < 3` or `stride < 0`;
    ///   `TokenizerError.windowBudgetTooSmall` when the pair does not fit and `budget <= stride` (HF 0.13.3
    ///   panics) or `budget <= 0` (HF raises "Sequence to truncate too short").
    public func encodePairWindows(first: String, second: String, maxLength: Int, stride: Int) throws -> [Encoding] {
        if maxLength < 3 {
            throw TokenizerError.invalidWindowArguments(
                maxLength: maxLength, stride: stride, reason: "maxLength must leave room for [CLS] and two [SEP] (at least 3)")
        }
        if stride < 0 {
            throw TokenizerError.invalidWindowArguments(maxLength: maxLength, stride: stride, reason: "stride must not be negative")
        }
        let head = tokenize(first)
        let strings = tokenStrings
        if second.isEmpty {
            // transformers tests `if text_pair:`, so an empty second string encodes `first` alone:
            // `[CLS] first [SEP]`, never cut (only_second has nothing to cut).
            if head.ids.count > maxLength - 2 {
                throw TokenizerError.windowBudgetTooSmall(
                    firstTokens: head.ids.count, secondTokens: 0, maxLength: maxLength, stride: stride,
                    budget: maxLength - 2 - head.ids.count)
            }
            let encoding = Encoding(
                assembling: [.specials([clsID]), .text(head, 0..<head.ids.count), .specials([sepID])],
                typeIDs: [0, 0, 0], tokenStrings: strings)
            return [encoding]
        }
        let tail = tokenize(second)
        let available = maxLength - 3
        var chunks: [Range<Int>] = []
        if head.ids.count + tail.ids.count <= available {
            chunks = [0..<tail.ids.count]
        } else {
            let budget = available - head.ids.count
            if budget <= 0 || stride >= budget {
                throw TokenizerError.windowBudgetTooSmall(
                    firstTokens: head.ids.count, secondTokens: tail.ids.count, maxLength: maxLength, stride: stride,
                    budget: budget)
            }
            var start = 0
            while true {
                let end = min(start + budget, tail.ids.count)
                chunks.append(start..<end)
                if end == tail.ids.count { break }
                start += budget - stride
            }
        }
        return chunks.map { chunk in
            Encoding(
                assembling: [
                    .specials([clsID]), .text(head, 0..<head.ids.count), .specials([sepID]), .text(tail, chunk),
                    .specials([sepID]),
                ],
                typeIDs: [0, 0, 0, 1, 1], tokenStrings: strings)
        }
    }
}
