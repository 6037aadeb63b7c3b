// LayerNorm over each row: one block per row, the row staged in shared memory as FP32, two-pass
// statistics (mean, then mean square of deviations) in FP32. gamma/beta are FP32.

enum LayerNormKernel {
    static let source = #"""
    extern "C" __global__ void layer_norm(const act_t* x, act_t* y, const float* gamma, const float* beta, int width, float eps) {
        extern __shared__ float smem[];
        float* row = smem;
        float* scratch = smem + width;
        const long base = (long)blockIdx.x * width;
        float s = 0.f;
        for (int i = threadIdx.x; i < width; i += blockDim.x) { float v = load_act(x, base + i); row[i] = v; s += v; }
        const float mean = block_sum(s, scratch) / width;
        float q = 0.f;
        for (int i = threadIdx.x; i < width; i += blockDim.x) { float d = row[i] - mean; q += d * d; }
        const float inv = rsqrtf(block_sum(q, scratch) / width + eps);
        for (int i = threadIdx.x; i < width; i += blockDim.x)
            store_act(y, base + i, (row[i] - mean) * inv * gamma[i] + beta[i]);
    }
    """#
    static let names = ["layer_norm"]
    static let threads = 256
    static func sharedBytes(width: Int) -> Int { (width + 32) * 4 }
}

/// Op entry: one block per row.
enum LayerNormOp {
    static func run(_ k: CUDAKernels, _ x: CUDAMatrix, _ norm: CUDANorm) throws -> CUDAMatrix {
        guard x.columns == norm.width else {
            throw CUDAError.shapeMismatch(op: "layerNorm", detail: "width \(x.columns) vs \(norm.width)")
        }
        let y = try k.makeMatrix(rows: x.rows, columns: x.columns)
        let threads = min(LayerNormKernel.threads, max(32, (x.columns + 31) / 32 * 32))
        try k.context.launch(
            k.function("layer_norm"), name: "layer_norm", grid: (x.rows, 1, 1), block: (threads, 1, 1),
            sharedBytes: LayerNormKernel.sharedBytes(width: x.columns),
            [.pointer(x.pointer), .pointer(y.pointer), .pointer(norm.gamma), .pointer(norm.beta), .int32(Int32(x.columns)), .float(norm.epsilon)])
        return y
    }
}
