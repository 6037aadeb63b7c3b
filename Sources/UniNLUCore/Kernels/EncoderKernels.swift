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

    /// `LayerNorm(x · Wᵀ + b + residual)`, the end of a post-LN sublayer. The default is `linear`
    /// then `layerNorm`; a backend may fuse the two.
    func linearResidualNorm(_ x: Activations, _ layer: Linear, residual: Activations, _ norm: Norm) throws -> Activations

    /// Multi-head scaled-dot-product attention over packed sequences. `qkv` rows hold
    /// [q | k | v], each `heads * headSize` wide. Returns the concatenated heads.
    func attention(qkv: Activations, sequences: PackedSequences, heads: Int, headSize: Int) throws -> Activations

    /// Builds a new activation from runs of rows of existing ones (concatenation, slicing).
    func gatherRows(_ sources: [Activations], segments: [RowSegment]) throws -> Activations

    func rowCount(_ x: Activations) -> Int
    /// Copies an activation to the host, row-major.
    func download(_ x: Activations) throws -> [Float]

    /// Runs `body` (ops of this backend only; no downloads) and returns its outputs; a backend may
    /// replay what an earlier call of the same `shape` issued instead (ReplayableForward.swift).
    func replayable(_ shape: ForwardShape, _ body: () throws -> [Activations]) throws -> [Activations]

    /// A graph may pad its sequences with masked rows up to a multiple of this many tokens, so that
    /// forwards of nearby lengths have one shape (and replay one captured graph); 1: exact lengths.
    var lengthBucket: Int { get }

    /// Forwards whose padded tokens would exceed this are never replayed; graphs run them at exact
    /// lengths (`PackedSequences.effectiveBucket`).
    var lengthBucketMaxTokens: Int { get }
}

extension EncoderKernels {
    /// Exact lengths unless a backend replays shapes.
    public var lengthBucket: Int { 1 }

    public var lengthBucketMaxTokens: Int { Int.max }

    public func linearResidualNorm(_ x: Activations, _ layer: Linear, residual: Activations, _ norm: Norm) throws -> Activations {
        try layerNorm(linear(x, layer, activation: .none, residual: residual), norm)
    }
}
