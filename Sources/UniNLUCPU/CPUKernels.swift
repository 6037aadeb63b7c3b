import UniNLUCore

// The FP32 reference backend: every op of `EncoderKernels` on host memory, using all cores.

public enum CPUKernelError: Error, CustomStringConvertible {
    case shapeMismatch(op: String, detail: String)
    case idOutOfRange(table: Int, id: Int32, rows: Int)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, detail): return "CPU \(op): shape mismatch: \(detail)"
        case let .idOutOfRange(table, id, rows):
            return "embedding id \(id) is outside table \(table) (\(rows) rows): the tokenizer and the checkpoint disagree"
        }
    }
}

public final class CPUKernels: EncoderKernels {
    public typealias Activations = CPUMatrix
    public typealias Linear = CPULinear
    public typealias Norm = CPUNorm
    public typealias EmbeddingTable = CPUEmbeddingTable

    public init() {}

    /// Exact lengths by default (padding only costs the CPU time); tests set a bucket to check that
    /// a graph's padding leaves every real row's result unchanged.
    public var lengthBucket = 1
    /// Settable for tests of the padded and unpadded paths (see `EncoderKernels.lengthBucketMaxTokens`).
    public var lengthBucketMaxTokens = Int.max

    public func makeLinear(weight: [Float], bias: [Float], outFeatures: Int, inFeatures: Int) throws -> CPULinear {
        guard weight.count == outFeatures * inFeatures, bias.count == outFeatures else {
            throw CPUKernelError.shapeMismatch(op: "linear", detail: "weight \(weight.count), bias \(bias.count) for \(outFeatures)x\(inFeatures)")
        }
        return CPULinear(weight: weight, bias: bias, outFeatures: outFeatures, inFeatures: inFeatures)
    }

    public func makeNorm(gamma: [Float], beta: [Float], epsilon: Float) throws -> CPUNorm {
        guard gamma.count == beta.count else {
            throw CPUKernelError.shapeMismatch(op: "layerNorm", detail: "gamma \(gamma.count) vs beta \(beta.count)")
        }
        return CPUNorm(gamma: gamma, beta: beta, epsilon: epsilon)
    }

    public func makeEmbeddingTable(_ table: [Float], rows: Int, width: Int) throws -> CPUEmbeddingTable {
        guard table.count == rows * width else {
            throw CPUKernelError.shapeMismatch(op: "embedding", detail: "\(table.count) values for \(rows)x\(width)")
        }
        return CPUEmbeddingTable(values: table, rows: rows, width: width)
    }

    public func embed(tables: [CPUEmbeddingTable], ids: [[Int32]], norm: CPUNorm) throws -> CPUMatrix {
        guard tables.count == ids.count, let first = ids.first, ids.allSatisfy({ $0.count == first.count }),
              tables.allSatisfy({ $0.width == tables[0].width })
        else { throw CPUKernelError.shapeMismatch(op: "embed", detail: "\(tables.count) tables, \(ids.count) id lists") }
        for (t, list) in ids.enumerated() {
            if let bad = list.first(where: { $0 < 0 || Int($0) >= tables[t].rows }) {
                throw CPUKernelError.idOutOfRange(table: t, id: bad, rows: tables[t].rows)
            }
        }
        return EmbeddingGather.apply(tables: tables, ids: ids, norm: norm)
    }

    public func linear(_ x: CPUMatrix, _ layer: CPULinear, activation: LinearActivation, residual: CPUMatrix?) throws -> CPUMatrix {
        guard x.columns == layer.inFeatures else {
            throw CPUKernelError.shapeMismatch(op: "linear", detail: "input width \(x.columns), layer expects \(layer.inFeatures)")
        }
        if let residual, residual.rows != x.rows || residual.columns != layer.outFeatures {
            throw CPUKernelError.shapeMismatch(op: "linear", detail: "residual \(residual.rows)x\(residual.columns)")
        }
        return layer.apply(x, activation: activation == .gelu ? .gelu : .none, residual: residual)
    }

    public func layerNorm(_ x: CPUMatrix, _ norm: CPUNorm) throws -> CPUMatrix {
        guard x.columns == norm.gamma.count else {
            throw CPUKernelError.shapeMismatch(op: "layerNorm", detail: "width \(x.columns) vs \(norm.gamma.count)")
        }
        return LayerNorm.apply(x, norm)
    }

    public func attention(qkv: CPUMatrix, sequences: PackedSequences, heads: Int, headSize: Int) throws -> CPUMatrix {
        guard qkv.columns == 3 * heads * headSize, qkv.rows == sequences.totalRows else {
            throw CPUKernelError.shapeMismatch(op: "attention", detail: "qkv \(qkv.rows)x\(qkv.columns), \(sequences.totalRows) rows packed")
        }
        return Attention.apply(qkv: qkv, sequences: PackedSequencesView(offsets: sequences.offsets, keyMask: sequences.keyMask), heads: heads, headSize: headSize)
    }

    public func gatherRows(_ sources: [CPUMatrix], segments: [RowSegment]) throws -> CPUMatrix {
        guard let width = sources.first?.columns, sources.allSatisfy({ $0.columns == width }) else {
            throw CPUKernelError.shapeMismatch(op: "gatherRows", detail: "sources of different widths")
        }
        let total = segments.reduce(0) { $0 + $1.count }
        let y = CPUMatrix(rows: total, columns: width)
        var row = 0
        for segment in segments {
            guard segment.source < sources.count, segment.start >= 0, segment.start + segment.count <= sources[segment.source].rows else {
                throw CPUKernelError.shapeMismatch(op: "gatherRows", detail: "segment \(segment) out of range")
            }
            (y.pointer + row * width).update(from: sources[segment.source].row(segment.start), count: segment.count * width)
            row += segment.count
        }
        return y
    }

    public func rowCount(_ x: CPUMatrix) -> Int { x.rows }

    public func download(_ x: CPUMatrix) throws -> [Float] { x.values }
}
