// What the RexUniNLU pipeline asks of an engine, and nothing about how it is computed: for each
// prompt+text window (ids, custom position ids, 2-D attention mask) the token-pair logits
// Z = RoPE(Wq h)·RoPE(Wk h)ᵀ that the decoder thresholds at 0.

/// One model input as upstream `prompt_loop` builds it: `[CLS] prompt [SEP] text-chunk [SEP]`, batch 1,
/// no padding.
public struct RexForwardJob: Sendable, Equatable {
    public var ids: [Int32]
    /// Upstream `build_position_ids_attn_mask` position ids (resets per prompt block).
    public var positions: [Int32]
    /// `ids.count²` entries, row-major (row = query): 1 when the query token may attend to the key token.
    public var mask: [UInt8]

    public init(ids: [Int32], positions: [Int32], mask: [UInt8]) {
        self.ids = ids
        self.positions = positions
        self.mask = mask
    }

    public var count: Int { ids.count }
}

/// The N x N token-pair logits of one job, row-major (`Z[i, j]`: row i = head/first token, column j).
public struct RexTokenPairLogits: Sendable, Equatable {
    public let count: Int
    public let values: [Float]

    public init(count: Int, values: [Float]) {
        precondition(values.count == count * count, "token-pair logits must be count x count")
        self.count = count
        self.values = values
    }

    @inline(__always)
    public subscript(row: Int, column: Int) -> Float { values[row * count + column] }
}

/// The pipeline's view of a Rex engine. Engines run several jobs in one packed forward; a batching
/// scheduler (the server) can implement this too, coalescing concurrent callers.
public protocol RexUniNLUForward: Sendable {
    /// One result per job, in order.
    func tokenPairLogits(_ jobs: [RexForwardJob]) async throws -> [RexTokenPairLogits]
}
