import UniNLUCore
// DeBERTa-v2's ConvLayer on packed sequences as one GEMM: `conv_im2col` writes, per row r, the
// kernelSize input rows r - pad ... r + pad of its own sequence side by side (zeros past either
// sequence boundary), so that conv1d = im2col(x) · Wᵀ + b with W reorganised to [out x (k·in)]
// (W[o][t·in + i] = weight[o][i][t]); then the activation (cuBLASLt epilogue) and `add_inplace`
// for the residual. FP32 accumulation in the GEMM.

enum ConvolutionKernel {
    static let source = #"""
    extern "C" __global__ void conv_im2col(const act_t* __restrict__ x, act_t* __restrict__ cols, const int2* __restrict__ rowSpans,
            int width, int kernelSize) {
        const int r = blockIdx.x;
        const int2 span = rowSpans[r];   // start and end (exclusive) of this row's sequence
        const int pad = (kernelSize - 1) / 2;
        const int total = kernelSize * width;
        act_t* dst = cols + (long)r * total;
        for (int e = threadIdx.x; e < total; e += blockDim.x) {
            const int t = e / width, c = e - t * width;
            const int src = r + t - pad;
            dst[e] = (src >= span.x && src < span.y) ? x[(long)src * width + c] : (act_t)0;
        }
    }
    extern "C" __global__ void add_inplace(act_t* y, const act_t* r, long count) {
        for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += (long)gridDim.x * blockDim.x)
            store_act(y, i, load_act(y, i) + load_act(r, i));
    }
    """#
    static let names = ["conv_im2col", "add_inplace"]
}

/// A prepared convolution: the reorganised weight as a dense layer over im2col rows.
public final class CUDAConvolution: @unchecked Sendable {
    // @unchecked: immutable after upload.
    public let inChannels: Int
    public let outChannels: Int
    public let kernelSize: Int
    let linear: CUDALinear

    init(inChannels: Int, outChannels: Int, kernelSize: Int, linear: CUDALinear) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.linear = linear
    }

    /// PyTorch's [out x in x k] weight as [out x (k·in)]: tap-major columns, matching `conv_im2col`.
    static func im2colWeight(_ weight: [Float], outChannels: Int, inChannels: Int, kernelSize: Int) -> [Float] {
        var w = [Float](repeating: 0, count: weight.count)
        let columns = kernelSize * inChannels
        for o in 0..<outChannels {
            for i in 0..<inChannels {
                for t in 0..<kernelSize { w[o * columns + t * inChannels + i] = weight[(o * inChannels + i) * kernelSize + t] }
            }
        }
        return w
    }
}

enum ConvolutionOp {
    /// Per row: the start and end (exclusive) of its sequence, as `conv_im2col` reads them (int2).
    static func rowSpans(_ sequences: PackedSequences) -> [Int32] {
        var spans: [Int32] = []
        spans.reserveCapacity(2 * sequences.totalRows)
        for s in 0..<sequences.count {
            let start = Int32(sequences.offsets[s]), end = Int32(sequences.offsets[s + 1])
            for _ in start..<end {
                spans.append(start)   // append, not `+= [a, b]`: no temporary array per row (~0.5 ms at 16K rows)
                spans.append(end)
            }
        }
        return spans
    }

    static func run(_ k: CUDAKernels, _ x: CUDAMatrix, _ conv: CUDAConvolution, sequences: PackedSequences, activation: LinearActivation, residual: CUDAMatrix) throws -> CUDAMatrix {
        guard x.columns == conv.inChannels, x.rows == sequences.totalRows, residual.rows == x.rows, residual.columns == conv.outChannels else {
            throw CUDAError.shapeMismatch(
                op: "convolution",
                detail: "input \(x.rows)x\(x.columns), residual \(residual.rows)x\(residual.columns), \(sequences.totalRows) rows packed, conv \(conv.inChannels)→\(conv.outChannels)")
        }
        guard x.rows > 0 else { return try k.makeMatrix(rows: 0, columns: conv.outChannels) }
        let staged = try k.stageInt32(rowSpans(sequences))
        let columns = conv.kernelSize * conv.inChannels
        let cols = try k.makeMatrix(rows: x.rows, columns: columns)
        try k.context.launch(
            k.function("conv_im2col"), name: "conv_im2col", grid: (x.rows, 1, 1), block: (256, 1, 1),
            [.pointer(x.pointer), .pointer(cols.pointer), .pointer(staged.pointer), .int32(Int32(conv.inChannels)), .int32(Int32(conv.kernelSize))])
        if activation == .none {
            return try LinearOp.run(k, cols, conv.linear, activation: .none, residual: residual)
        }
        let y = try LinearOp.run(k, cols, conv.linear, activation: activation, residual: nil)
        let count = y.rows * y.columns
        try k.context.launch(
            k.function("add_inplace"), name: "add_inplace", grid: (min((count + 255) / 256, 65_535), 1, 1), block: (256, 1, 1),
            [.pointer(y.pointer), .pointer(residual.pointer), .int64(Int64(count))])
        return y
    }
}
