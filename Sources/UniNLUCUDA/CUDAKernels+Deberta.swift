import UniNLUCore

// The DeBERTa-v2 / RexUniNLU ops of `DebertaKernels` on the CUDA backend (op entries in
// Kernels/DisentangledAttentionKernel.swift, ConvolutionKernel.swift, RotaryPairScoresKernel.swift);
// the CPU twin is UniNLUCPU/CPUKernels+Deberta.swift.

extension CUDAKernels: DebertaKernels {
    public typealias Convolution = CUDAConvolution

    public func makeConvolution(weight: [Float], bias: [Float], outChannels: Int, inChannels: Int, kernelSize: Int) throws -> CUDAConvolution {
        guard kernelSize > 0, kernelSize % 2 == 1, outChannels > 0, inChannels > 0, weight.count == outChannels * inChannels * kernelSize, bias.count == outChannels else {
            throw CUDAError.shapeMismatch(
                op: "convolution", detail: "weight \(weight.count), bias \(bias.count) for \(outChannels)x\(inChannels)x\(kernelSize) (odd kernel)")
        }
        let reorganised = CUDAConvolution.im2colWeight(weight, outChannels: outChannels, inChannels: inChannels, kernelSize: kernelSize)
        let linear = try makeLinear(weight: reorganised, bias: bias, outFeatures: outChannels, inFeatures: kernelSize * inChannels)
        return CUDAConvolution(inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize, linear: linear)
    }

    public func convolution(_ x: CUDAMatrix, _ conv: CUDAConvolution, sequences: PackedSequences, activation: LinearActivation, residual: CUDAMatrix) throws -> CUDAMatrix {
        try ConvolutionOp.run(self, x, conv, sequences: sequences, activation: activation, residual: residual)
    }

    public func disentangledAttention(qkv: CUDAMatrix, positionProjections: CUDAMatrix, layout: DisentangledAttentionLayout, heads: Int, headSize: Int) throws -> CUDAMatrix {
        try DisentangledAttentionOp.run(self, qkv: qkv, positions: positionProjections, layout: layout, heads: heads, headSize: headSize)
    }

    public func rotaryPairScores(_ queryKeys: CUDAMatrix, positions: [Int32], frequencies: [Float], sequences: PackedSequences) throws -> [Float] {
        guard sequences.count <= 65_535 else {
            throw CUDAError.unsupported(op: "rotaryPairScores", detail: "\(sequences.count) sequences in one call (at most 65535)")
        }
        return try RotaryPairScoresOp.run(self, queryKeys, positions: positions, frequencies: frequencies, sequences: sequences)
    }
}
