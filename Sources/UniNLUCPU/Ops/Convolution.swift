// 1-D convolution along the rows of each packed sequence (PyTorch `nn.Conv1d`, groups 1, padding
// (k-1)/2, zero padding at sequence boundaries), then bias, activation and a residual: FP32, one GEMM
// per tap with the tap's weight stored transposed [in x out].

public final class CPUConvolution: @unchecked Sendable {
    // @unchecked: immutable after init.
    public let inChannels: Int
    public let outChannels: Int
    public let kernelSize: Int
    /// Tap t's weight transposed: `taps[t][i * outChannels + o] = weight[o][i][t]`.
    let taps: [[Float]]
    let bias: [Float]

    /// `weight` is PyTorch's [out x in x kernel] layout.
    public init(weight: [Float], bias: [Float], outChannels: Int, inChannels: Int, kernelSize: Int) {
        precondition(weight.count == outChannels * inChannels * kernelSize && bias.count == outChannels)
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.bias = bias
        taps = (0..<kernelSize).map { t in
            var w = [Float](repeating: 0, count: inChannels * outChannels)
            for o in 0..<outChannels {
                for i in 0..<inChannels { w[i * outChannels + o] = weight[(o * inChannels + i) * kernelSize + t] }
            }
            return w
        }
    }
}

extension CPUConvolution {
    /// `residual + activation(conv(x))` per sequence; `offsets` are the packed row offsets.
    public func apply(_ x: CPUMatrix, offsets: [Int], gelu: Bool, residual: CPUMatrix) -> CPUMatrix {
        let conv = self
        precondition(x.columns == conv.inChannels && residual.columns == conv.outChannels && residual.rows == x.rows)
        let width = conv.outChannels
        let y = CPUMatrix(rows: x.rows, columns: width)
        let pad = (conv.kernelSize - 1) / 2
        for s in 0..<(offsets.count - 1) {
            let start = offsets[s], n = offsets[s + 1] - start
            guard n > 0 else { continue }
            for (t, tap) in conv.taps.enumerated() {
                // Output row r reads input row r + t - pad; only rows inside the sequence contribute.
                let shift = t - pad
                let first = max(0, -shift), last = min(n, n - shift)
                guard last > first else { continue }
                tap.withUnsafeBufferPointer { w in
                    Gemm.multiply(
                        m: last - first, n: width, k: conv.inChannels,
                        a: x.row(start + first + shift), lda: conv.inChannels,
                        b: w.baseAddress!, ldb: width,
                        c: y.row(start + first), ldc: width, accumulate: true)
                }
            }
        }
        let chunks = CPUParallel.chunks(x.rows, grain: 8)
        CPUParallel.forEach(chunks.count, work: x.rows * width * 8) { chunk in
            for r in chunks[chunk] {
                let row = y.row(r)
                for o in 0..<width { row[o] += conv.bias[o] }
                if gelu { Gelu.apply(row, count: width) }
                let res = residual.row(r)
                for o in 0..<width { row[o] += res[o] }
            }
        }
        return y
    }
}
