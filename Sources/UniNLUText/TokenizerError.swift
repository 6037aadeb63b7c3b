import Foundation

/// Everything that can go wrong while loading a tokenizer or encoding with it. Each case carries its context
/// (file, line, limits) and the message says what to do about it.
public enum TokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// `vocab.txt` could not be read.
    case vocabularyUnreadable(path: String, reason: String)
    /// The vocabulary has no tokens.
    case vocabularyEmpty(source: String)
    /// A vocabulary line is not valid UTF-8 (`line` is 1-based).
    case vocabularyInvalidUTF8(path: String, line: Int)
    /// A token the BERT template needs (`[CLS]`, `[SEP]`, `[PAD]`, `[UNK]`) is not in the vocabulary.
    case missingSpecialToken(token: String, source: String)
    /// `tokenizer_config.json` exists but could not be read or decoded.
    case configurationInvalid(path: String, reason: String)
    /// An added token is unusable (empty).
    case invalidAddedToken(token: String, reason: String)
    /// `maxLength` / `stride` of a pair-window request are out of range before any text is looked at.
    case invalidWindowArguments(maxLength: Int, stride: Int, reason: String)
    /// The second sequence must be cut into windows, but the room left for it is not larger than the stride
    /// (HF tokenizers 0.13.3 panics here with `assertion failed: stride < max_len`, or raises
    /// "Sequence to truncate too short" when `budget <= 0`).
    case windowBudgetTooSmall(firstTokens: Int, secondTokens: Int, maxLength: Int, stride: Int, budget: Int)

    public var description: String {
        switch self {
        case .vocabularyUnreadable(let path, let reason):
            return "cannot read vocabulary file \(path): \(reason). Point the tokenizer at a model directory that contains vocab.txt."
        case .vocabularyEmpty(let source):
            return "vocabulary \(source) is empty. A BERT WordPiece vocab.txt has one token per line (e.g. 21128 lines for bert-base-chinese)."
        case .vocabularyInvalidUTF8(let path, let line):
            return "vocabulary file \(path) line \(line) is not valid UTF-8. Re-export vocab.txt as UTF-8."
        case .missingSpecialToken(let token, let source):
            return "vocabulary \(source) has no \(token) line. BERT inputs need [CLS], [SEP], [PAD] and [UNK]; use the vocab.txt that came with the model."
        case .configurationInvalid(let path, let reason):
            return "cannot read tokenizer configuration \(path): \(reason). Fix or remove tokenizer_config.json (HF defaults apply when it is absent)."
        case .invalidAddedToken(let token, let reason):
            return "added token \"\(token)\" is unusable: \(reason)."
        case .invalidWindowArguments(let maxLength, let stride, let reason):
            return "invalid pair-window arguments maxLength=\(maxLength) stride=\(stride): \(reason)."
        case .windowBudgetTooSmall(let firstTokens, let secondTokens, let maxLength, let stride, let budget):
            return "the first sequence has \(firstTokens) tokens, leaving \(budget) of maxLength=\(maxLength) (minus 3 specials) "
                + "for the \(secondTokens) tokens of the second sequence, which must be more than stride=\(stride) "
                + "to cut it into windows. Shorten the first sequence, raise maxLength or lower the stride."
        }
    }
}
