// The ops a DeBERTa-v2 graph (RexUniNLU) needs on top of `EncoderKernels`. A refinement rather than
// new `EncoderKernels` requirements so that a backend can run BERT models (SiameseUIE) before it
// implements these; a backend that runs Rex adopts `DebertaKernels`, checked by the compiler.

public protocol DebertaKernels: EncoderKernels {
    /// A prepared 1-D convolution (DeBERTa-v2's `ConvLayer`).
    associatedtype Convolution

    /// Prepares a PyTorch `nn.Conv1d` (groups 1) from its weight [outChannels x inChannels x kernelSize]
    /// and bias; padding is `(kernelSize - 1) / 2` on both sides (an odd `kernelSize` keeps the length).
    func makeConvolution(weight: [Float], bias: [Float], outChannels: Int, inChannels: Int, kernelSize: Int) throws -> Convolution

    /// `residual + activation(conv1d(x))` over each packed sequence on its own: the convolution runs along
    /// the rows (token order) with zero padding at every sequence boundary (DeBERTa-v2 `ConvLayer` before
    /// its LayerNorm).
    func convolution(_ x: Activations, _ conv: Convolution, sequences: PackedSequences, activation: LinearActivation, residual: Activations) throws -> Activations

    /// DeBERTa-v2 disentangled self-attention (content→content, content→position, position→content) over
    /// packed sequences, each with its own 2-D mask and relative-position indices (`layout`).
    ///
    /// `qkv` rows hold `[q | k | v]` (each `heads * headSize` wide), as for `attention`. `positionProjections`
    /// has one row per relative-embedding row (`2 * span`) with the same column layout: the shared
    /// `query_proj`/`key_proj` applied to the (normalised) relative embeddings (`share_att_key`), so
    /// `Qr = columns 0..<H`, `Kr = columns H..<2H`; the rest is unused. Per head, with `δ = layout.relativeRow(query: i, key: j)`:
    ///
    ///     score[i,j] = (q_i·k_j + q_i·Kr[δ(i,j)] + k_j·Qr[δ(i,j)]) / sqrt(3 · headSize)
    ///
    /// then a masked softmax over `j` (masked keys get weight exactly 0; a row with every key masked gets all
    /// zeros, as upstream `XSoftmax`), then `P·v`. Returns the concatenated heads.
    func disentangledAttention(qkv: Activations, positionProjections: Activations, layout: DisentangledAttentionLayout, heads: Int, headSize: Int) throws -> Activations

    /// The RexUniNLU token-pair logits of every packed sequence: rows hold `[q | k]` (each `width` wide);
    /// both are rotated with interleaved (GPT-J style) rotary embeddings at each row's position id,
    /// pair `m` = dims `(2m, 2m+1)` by angle `position · frequencies[m]` (dims past `2 * frequencies.count`
    /// are left as they are), then `Z = q' · k'ᵀ` (no scaling). Returns every sequence's row-major
    /// `N x N` matrix, packed one after the other in one host array (the decoder reads them there,
    /// through `RexTokenPairLogits` views: no per-sequence copy).
    func rotaryPairScores(_ queryKeys: Activations, positions: [Int32], frequencies: [Float], sequences: PackedSequences) throws -> [Float]
}
