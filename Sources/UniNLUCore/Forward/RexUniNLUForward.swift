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
    /// The count x count values, row-major, at `offset` in `storage`: the jobs of one forward share
    /// one packed download (no copy per job).
    private let storage: [Float]
    private let offset: Int

    public init(count: Int, values: [Float]) {
        precondition(values.count == count * count, "token-pair logits must be count x count")
        self.count = count
        self.storage = values
        self.offset = 0
    }

    /// A view of one job's matrix inside `packed` (several jobs' matrices one after another).
    public init(count: Int, packed: [Float], offset: Int) throws {
        guard count >= 0, offset >= 0, offset + count * count <= packed.count else {
            throw RexForwardError.packedLogits(count: count, offset: offset, available: packed.count)
        }
        self.count = count
        self.storage = packed
        self.offset = offset
    }

    /// The values as their own array (a copy; the decoders read through the subscript).
    public var values: [Float] { Array(storage[offset..<(offset + count * count)]) }

    @inline(__always)
    public subscript(row: Int, column: Int) -> Float { storage[offset + row * count + column] }

    public static func == (a: RexTokenPairLogits, b: RexTokenPairLogits) -> Bool {
        a.count == b.count && a.storage[a.offset..<(a.offset + a.count * a.count)].elementsEqual(b.storage[b.offset..<(b.offset + b.count * b.count)])
    }
}

public enum RexForwardError: Error, CustomStringConvertible {
    case packedLogits(count: Int, offset: Int, available: Int)

    public var description: String {
        switch self {
        case let .packedLogits(count, offset, available):
            return "token-pair logits of \(count) x \(count) at \(offset) do not fit in \(available) packed values"
        }
    }
}

/// The pipeline's view of a Rex engine. Engines run several jobs in one packed forward; a batching
/// scheduler (the server) can implement this too, coalescing concurrent callers.
public protocol RexUniNLUForward: Sendable {
    /// One result per job, in order.
    func tokenPairLogits(_ jobs: [RexForwardJob]) async throws -> [RexTokenPairLogits]
}
