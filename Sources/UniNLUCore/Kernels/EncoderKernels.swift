// The contract between model graphs and backends. A graph (BERT, DeBERTa-v2) is written once
// against these ops; the CPU backend is the FP32 reference, the CUDA backend provides the same ops
// (fused where it pays). Backends never see pipelines; graphs never see a concrete backend.
//
// Activations are row-major [rows x width] matrices that live on the backend. Weights are
// prepared once (converted, packed, uploaded) from host FP32 arrays in the upstream layout.

public enum LinearActivation: Sendable, Equatable {
    case none
    /// Exact (erf) GELU, as `hidden_act: "gelu"` in the checkpoints.
    case gelu
}

public protocol EncoderKernels: AnyObject {
    associatedtype Activations
    associatedtype Linear
    associatedtype Norm
    associatedtype EmbeddingTable
    /// A prepared 1-D convolution (DeBERTa-v2's `ConvLayer`).
    associatedtype Convolution

    /// Prepares a dense layer from a PyTorch `nn.Linear` weight [outFeatures x inFeatures] and bias.
    func makeLinear(weight: [Float], bias: [Float], outFeatures: Int, inFeatures: Int) throws -> Linear
    func makeNorm(gamma: [Float], beta: [Float], epsilon: Float) throws -> Norm
    func makeEmbeddingTable(_ table: [Float], rows: Int, width: Int) throws -> EmbeddingTable

    /// Sum of the rows of every table picked by its ids (ids.count lists of equal length), then LayerNorm.
    func embed(tables: [EmbeddingTable], ids: [[Int32]], norm: Norm) throws -> Activations

    /// `activation(x · Wᵀ + b)`, plus `residual` when given (added after the activation).
    func linear(_ x: Activations, _ layer: Linear, activation: LinearActivation, residual: Activations?) throws -> Activations

    /// LayerNorm over each row, with statistics in FP32.
    func layerNorm(_ x: Activations, _ norm: Norm) throws -> Activations

    /// Multi-head scaled-dot-product attention over packed sequences. `qkv` rows hold
    /// [q | k | v], each `heads * headSize` wide. Returns the concatenated heads.
    func attention(qkv: Activations, sequences: PackedSequences, heads: Int, headSize: Int) throws -> Activations

    /// Builds a new activation from runs of rows of existing ones (concatenation, slicing).
    func gatherRows(_ sources: [Activations], segments: [RowSegment]) throws -> Activations

    func rowCount(_ x: Activations) -> Int
    /// Copies an activation to the host, row-major.
    func download(_ x: Activations) throws -> [Float]

    // MARK: DeBERTa-v2 (RexUniNLU)

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
    /// `Qr = columns 0..<H`, `Kr = columns H..<2H`; the rest is unused. Per head, with `δ = layout.relativeIndex`:
    ///
    ///     score[i,j] = (q_i·k_j + q_i·Kr[δ(i,j)] + k_j·Qr[δ(i,j)]) / sqrt(3 · headSize)
    ///
    /// then a masked softmax over `j` (masked keys get weight exactly 0; a row with every key masked gets all
    /// zeros, as upstream `XSoftmax`), then `P·v`. Returns the concatenated heads.
    func disentangledAttention(qkv: Activations, positionProjections: Activations, layout: DisentangledAttentionLayout, heads: Int, headSize: Int) throws -> Activations

    /// The RexUniNLU token-pair logits of every packed sequence: rows hold `[q | k]` (each `width` wide);
    /// both are rotated with interleaved (GPT-J style) rotary embeddings at each row's position id,
    /// pair `m` = dims `(2m, 2m+1)` by angle `position · frequencies[m]` (dims past `2 * frequencies.count`
    /// are left as they are), then `Z = q' · k'ᵀ` (no scaling). Returns one row-major `N x N` matrix per
    /// sequence, on the host (the decoder reads it there).
    func rotaryPairScores(_ queryKeys: Activations, positions: [Int32], frequencies: [Float], sequences: PackedSequences) throws -> [[Float]]
}
