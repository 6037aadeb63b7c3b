// LayerNorm over each row, two-pass statistics (mean, then mean square of deviations) in FP32;
// gamma/beta are FP32. Widths of 256·C (C = 1…4: BERT/DeBERTa base 768 is C = 3): one warp per row,
// the row held in registers (8 values a lane per 256 columns, 16-byte loads and stores), warp
// shuffles only. At 128 rows the block-per-row kernel spent most of its ~5 µs in its three block
// reductions' barriers. Other widths: one block per row, the row staged in shared memory.

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
    // One warp's row of 256·C columns, 8 values a lane per 256 columns (lane·8 + c·256 ...).
    // gamma and beta are loaded first: their loads wait neither on the row's nor on the two
    // reductions (at 128 rows the kernel is a chain of latencies, not bandwidth).
    template <int C>
    __device__ __forceinline__ void warp_row_load_affine(float4 (&gb)[C][4], const float* gamma, const float* beta, int lane) {
        #pragma unroll
        for (int c = 0; c < C; ++c) {
            const int col = c * 256 + lane * 8;
            gb[c][0] = *reinterpret_cast<const float4*>(gamma + col); gb[c][1] = *reinterpret_cast<const float4*>(gamma + col + 4);
            gb[c][2] = *reinterpret_cast<const float4*>(beta + col); gb[c][3] = *reinterpret_cast<const float4*>(beta + col + 4);
        }
    }
    // Two-pass statistics of the warp's row `v`, then (v - mean) · inv · gamma + beta into `yr`.
    template <int C>
    __device__ __forceinline__ void warp_row_normalize_store(const float (&v)[C][8], const float4 (&gb)[C][4], act_t* yr, float eps, int lane) {
        const int width = C * 256;
        float s = 0.f;
        #pragma unroll
        for (int c = 0; c < C; ++c) {
            #pragma unroll
            for (int i = 0; i < 8; ++i) s += v[c][i];
        }
        const float mean = warp_sum(s) / width;
        float q = 0.f;
        #pragma unroll
        for (int c = 0; c < C; ++c) {
            #pragma unroll
            for (int i = 0; i < 8; ++i) { const float d = v[c][i] - mean; q += d * d; }
        }
        const float inv = rsqrtf(warp_sum(q) / width + eps);
        #pragma unroll
        for (int c = 0; c < C; ++c) {
            const int col = c * 256 + lane * 8;
            const float4 g0 = gb[c][0], g1 = gb[c][1], b0 = gb[c][2], b1 = gb[c][3];
            const float g[8] = {g0.x, g0.y, g0.z, g0.w, g1.x, g1.y, g1.z, g1.w};
            const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
            float o[8];
            #pragma unroll
            for (int i = 0; i < 8; ++i) o[i] = (v[c][i] - mean) * inv * g[i] + b[i];
            store_act8(yr + col, o);
        }
    }
    template <int C>
    __device__ __forceinline__ void layer_norm_warp_rows(const act_t* x, act_t* y, const float* gamma, const float* beta, int rows, float eps) {
        const int lane = threadIdx.x & 31;
        const int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
        if (row >= rows) return;
        const int width = C * 256;
        const act_t* xr = x + (long)row * width;
        float4 gb[C][4];
        warp_row_load_affine<C>(gb, gamma, beta, lane);
        float v[C][8];
        #pragma unroll
        for (int c = 0; c < C; ++c) load_act8(xr + c * 256 + lane * 8, v[c]);
        warp_row_normalize_store<C>(v, gb, y + (long)row * width, eps, lane);
    }
    extern "C" __global__ void layer_norm_warp_c1(const act_t* x, act_t* y, const float* g, const float* b, int rows, float eps) { layer_norm_warp_rows<1>(x, y, g, b, rows, eps); }
    extern "C" __global__ void layer_norm_warp_c2(const act_t* x, act_t* y, const float* g, const float* b, int rows, float eps) { layer_norm_warp_rows<2>(x, y, g, b, rows, eps); }
    extern "C" __global__ void layer_norm_warp_c3(const act_t* x, act_t* y, const float* g, const float* b, int rows, float eps) { layer_norm_warp_rows<3>(x, y, g, b, rows, eps); }
    extern "C" __global__ void layer_norm_warp_c4(const act_t* x, act_t* y, const float* g, const float* b, int rows, float eps) { layer_norm_warp_rows<4>(x, y, g, b, rows, eps); }
    """#
    static let names = ["layer_norm", "layer_norm_warp_c1", "layer_norm_warp_c2", "layer_norm_warp_c3", "layer_norm_warp_c4"]
    static let threads = 256
    /// Rows per block of the warp-per-row kernels.
    static let warpRowsPerBlock = 4

    /// The warp-per-row kernel for `width`, if it has one (256·C columns, C = 1…4).
    static func warpKernel(width: Int) -> String? {
        width % 256 == 0 && (1...4).contains(width / 256) ? "layer_norm_warp_c\(width / 256)" : nil
    }
    static func sharedBytes(width: Int) -> Int { (width + 32) * 4 }
}

/// Op entry: the warp-per-row kernel where the width allows (and `blockLayerNorm` is off), else one block per row.
enum LayerNormOp {
    static func run(_ k: CUDAKernels, _ x: CUDAMatrix, _ norm: CUDANorm) throws -> CUDAMatrix {
        guard x.columns == norm.width else {
            throw CUDAError.shapeMismatch(op: "layerNorm", detail: "width \(x.columns) vs \(norm.width)")
        }
        let y = try k.makeMatrix(rows: x.rows, columns: x.columns)
        if let name = LayerNormKernel.warpKernel(width: x.columns), !k.blockLayerNorm {
            let perBlock = LayerNormKernel.warpRowsPerBlock
            try k.context.launch(
                k.function(name), name: name, grid: ((x.rows + perBlock - 1) / perBlock, 1, 1), block: (32 * perBlock, 1, 1),
                [.pointer(x.pointer), .pointer(y.pointer), .pointer(norm.gamma), .pointer(norm.beta), .int32(Int32(x.rows)), .float(norm.epsilon)])
            return y
        }
        let threads = min(LayerNormKernel.threads, max(32, (x.columns + 31) / 32 * 32))
        try k.context.launch(
            k.function("layer_norm"), name: "layer_norm", grid: (x.rows, 1, 1), block: (threads, 1, 1),
            sharedBytes: LayerNormKernel.sharedBytes(width: x.columns),
            [.pointer(x.pointer), .pointer(y.pointer), .pointer(norm.gamma), .pointer(norm.beta), .int32(Int32(x.columns)), .float(norm.epsilon)])
        return y
    }
}

extension CUDAKernels {
    /// Whether LayerNorm over rows of `width` takes the warp-per-row kernel.
    public static func hasWarpLayerNorm(width: Int) -> Bool { LayerNormKernel.warpKernel(width: width) != nil }
}
