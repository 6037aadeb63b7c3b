import UniNLUCore

// The DeBERTa-v2 / RexUniNLU ops of `DebertaKernels` on the CPU backend: shape checks here, the
// arithmetic in Ops/DisentangledAttention.swift, Ops/Convolution.swift, Ops/RotaryPairScores.swift.

extension CPUKernels: DebertaKernels {
    public typealias Convolution = CPUConvolution

    public func makeConvolution(weight: [Float], bias: [Float], outChannels: Int, inChannels: Int, kernelSize: Int) throws -> CPUConvolution {
        guard kernelSize > 0, kernelSize % 2 == 1, outChannels > 0, inChannels > 0, weight.count == outChannels * inChannels * kernelSize, bias.count == outChannels else {
            throw CPUKernelError.shapeMismatch(
                op: "convolution", detail: "weight \(weight.count), bias \(bias.count) for \(outChannels)x\(inChannels)x\(kernelSize) (odd kernel)")
        }
        return CPUConvolution(weight: weight, bias: bias, outChannels: outChannels, inChannels: inChannels, kernelSize: kernelSize)
    }

    public func convolution(_ x: CPUMatrix, _ conv: CPUConvolution, sequences: PackedSequences, activation: LinearActivation, residual: CPUMatrix) throws -> CPUMatrix {
        guard x.columns == conv.inChannels, x.rows == sequences.totalRows, residual.rows == x.rows, residual.columns == conv.outChannels else {
            throw CPUKernelError.shapeMismatch(
                op: "convolution", detail: "input \(x.rows)x\(x.columns), residual \(residual.rows)x\(residual.columns), \(sequences.totalRows) rows packed, conv \(conv.inChannels)→\(conv.outChannels)")
        }
        return conv.apply(x, offsets: sequences.offsets, gelu: activation == .gelu, residual: residual)
    }

    public func disentangledAttention(qkv: CPUMatrix, positionProjections: CPUMatrix, layout: DisentangledAttentionLayout, heads: Int, headSize: Int) throws -> CPUMatrix {
        let hidden = heads * headSize
        guard qkv.columns == 3 * hidden, qkv.rows == layout.sequences.totalRows,
              positionProjections.columns >= 2 * hidden, positionProjections.rows == layout.relativeRows
        else {
            throw CPUKernelError.shapeMismatch(
                op: "disentangledAttention",
                detail: "qkv \(qkv.rows)x\(qkv.columns), positions \(positionProjections.rows)x\(positionProjections.columns), \(layout.sequences.totalRows) rows packed, \(layout.relativeRows) relative rows")
        }
        return DisentangledAttention.apply(qkv: qkv, positions: positionProjections, layout: layout, heads: heads, headSize: headSize)
    }

    public func rotaryPairScores(_ queryKeys: CPUMatrix, positions: [Int32], frequencies: [Float], sequences: PackedSequences) throws -> [Float] {
        guard queryKeys.columns > 0, queryKeys.columns % 2 == 0, queryKeys.rows == sequences.totalRows, positions.count == queryKeys.rows,
              2 * frequencies.count <= queryKeys.columns / 2
        else {
            throw CPUKernelError.shapeMismatch(
                op: "rotaryPairScores",
                detail: "q|k \(queryKeys.rows)x\(queryKeys.columns), \(positions.count) positions, \(frequencies.count) frequencies, \(sequences.totalRows) rows packed")
        }
        return RotaryPairScores.apply(queryKeys, positions: positions, frequencies: frequencies, offsets: sequences.offsets)
    }
}
