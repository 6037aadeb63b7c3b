/// HF `BertPreTokenizer`: split the normalized text on whitespace (Rust `char::is_whitespace`, dropped) and
/// make every punctuation char (ASCII punctuation/symbols and Unicode P*, per the 0.13.3 tables) its own
/// word. Empty words are never produced.
struct BertPreTokenizer: Sendable {
    private let properties = BertCharacterProperties.shared

    /// Appends the index range of each word of `scalars` to `words`, left to right.
    func words(_ scalars: UnsafeBufferPointer<UInt32>, into words: inout [Range<Int>]) {
        var wordStart = 0
        for index in 0..<scalars.count {
            let scalar = scalars[index]
            let isSpace: Bool
            let isPunctuation: Bool
            if scalar < 0x80 {
                isSpace = scalar == 0x20 || (scalar >= 0x09 && scalar <= 0x0D)
                isPunctuation = (scalar >= 0x21 && scalar <= 0x2F) || (scalar >= 0x3A && scalar <= 0x40)
                    || (scalar >= 0x5B && scalar <= 0x60) || (scalar >= 0x7B && scalar <= 0x7E)
            } else {
                let flags = properties.flags(scalar)
                isSpace = flags.contains(.splitWhitespace)
                isPunctuation = flags.contains(.punctuation)
            }
            if isSpace || isPunctuation {
                if wordStart < index { words.append(wordStart..<index) }
                if isPunctuation { words.append(index..<(index + 1)) }
                wordStart = index + 1
            }
        }
        if wordStart < scalars.count { words.append(wordStart..<scalars.count) }
    }
}
