/// One tokenized sequence, in the shape of an HF `tokenizers.Encoding`: all arrays have the same length.
public struct Encoding: Sendable, Equatable {
    /// Vocabulary ids (added tokens included).
    public var ids: [Int32]
    /// The vocabulary string of each id (`##` continuations included), e.g. `["[CLS]", "appl", "##e", "[SEP]"]`.
    public var tokens: [String]
    /// Code-point offsets into the string each token came from; `(0, 0)` for template specials and padding.
    public var offsets: [TokenOffset]
    /// Segment ids: 0 for `[CLS] first [SEP]`, 1 for the second sequence and its closing `[SEP]`.
    public var typeIds: [Int32]
    /// 1 for real tokens, 0 for padding.
    public var attentionMask: [Int32]

    public init(ids: [Int32], tokens: [String], offsets: [TokenOffset], typeIds: [Int32], attentionMask: [Int32]) {
        self.ids = ids
        self.tokens = tokens
        self.offsets = offsets
        self.typeIds = typeIds
        self.attentionMask = attentionMask
    }

    /// Number of tokens, padding included.
    public var count: Int { ids.count }
}
