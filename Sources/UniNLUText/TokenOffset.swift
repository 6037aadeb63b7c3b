/// A token's span in the string that was encoded, as a half-open range of Unicode code points
/// (Python string indices, as the HF fast tokenizers report them). Special tokens that the template
/// inserts (`[CLS]`, `[SEP]`, `[PAD]`) have `(0, 0)`.
public struct TokenOffset: Sendable, Equatable, Hashable {
    /// Index of the first code point of the token.
    public var start: Int
    /// Index one past the last code point of the token.
    public var end: Int

    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }

    /// The `(0, 0)` offset of template special tokens.
    public static let none = TokenOffset(start: 0, end: 0)
}
