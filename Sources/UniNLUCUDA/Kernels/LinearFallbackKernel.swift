import UniNLUCore
// y = act(x · Wᵀ + b) (+ residual): a plain 16×16 shared-memory tiled GEMM with FP32 accumulation
// and the whole epilogue fused, for the shapes cuBLASLt offers no algorithm for, and exact (erf)
// GELU after a cuBLASLt bias epilogue where the FP32 policy asks for it (`gelu_inplace`).

enum LinearFallbackKernel {
    static let source = #"""
    extern "C" __global__ void linear_fallback(const act_t* x, const act_t* w, const act_t* bias, const act_t* residual,
            act_t* y, int M, int N, int K, int gelu) {
        __shared__ float xs[16][17];
        __shared__ float ws[16][17];
        const int tx = threadIdx.x, ty = threadIdx.y;
        const int m = blockIdx.y * 16 + ty;
        const int n = blockIdx.x * 16 + tx;
        const int wn = blockIdx.x * 16 + ty;
        float acc = 0.f;
        for (int k0 = 0; k0 < K; k0 += 16) {
            xs[ty][tx] = (m < M && k0 + tx < K) ? load_act(x, (long)m * K + k0 + tx) : 0.f;
            ws[ty][tx] = (wn < N && k0 + tx < K) ? load_act(w, (long)wn * K + k0 + tx) : 0.f;
            __syncthreads();
            #pragma unroll
            for (int k = 0; k < 16; ++k) acc += xs[ty][k] * ws[tx][k];
            __syncthreads();
        }
        if (m < M && n < N) {
            float v = acc + load_act(bias, n);
            if (gelu) v = gelu_erf(v);
            if (residual) v += load_act(residual, (long)m * N + n);
            store_act(y, (long)m * N + n, v);
        }
    }
    extern "C" __global__ void gelu_inplace(act_t* y, long count) {
        for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += (long)gridDim.x * blockDim.x)
            store_act(y, i, gelu_erf(load_act(y, i)));
    }
    """#
    static let names = ["linear_fallback", "gelu_inplace"]
}

/// Op entry for dense layers: cuBLASLt with a fused epilogue when it has an algorithm for the shape,
/// else the fallback kernel; exact GELU after the bias epilogue under the FP32 policy.
enum LinearOp {
    static func run(_ k: CUDAKernels, _ x: CUDAMatrix, _ layer: CUDALinear, activation: LinearActivation, residual: CUDAMatrix?) throws -> CUDAMatrix {
        guard x.columns == layer.inFeatures else {
            throw CUDAError.shapeMismatch(op: "linear", detail: "input width \(x.columns), layer expects \(layer.inFeatures)")
        }
        if let residual, residual.rows != x.rows || residual.columns != layer.outFeatures {
            throw CUDAError.shapeMismatch(op: "linear", detail: "residual \(residual.rows)x\(residual.columns) for \(x.rows)x\(layer.outFeatures)")
        }
        let m = x.rows, n = layer.outFeatures, kk = layer.inFeatures
        let y = try k.makeMatrix(rows: m, columns: n)
        guard m > 0 else { return y }
        let gelu = activation == .gelu
        // cuBLASLt applies GELU after adding beta·C, so GELU with a residual, and exact GELU with
        // a residual, take the fallback kernel (the BERT graph never asks for either).
        if !(gelu && residual != nil) {
            let epilogueGelu = gelu && !k.exactGelu
            if try k.gemm.linear(x: x.pointer, weight: layer.weight.pointer, bias: layer.bias.pointer, residual: residual?.pointer,
                                 output: y.pointer, m: m, n: n, k: kk, gelu: epilogueGelu) {
                if gelu && k.exactGelu {
                    let count = m * n
                    try k.context.launch(k.function("gelu_inplace"), name: "gelu_inplace",
                                         grid: (min((count + 255) / 256, 65_535), 1, 1), block: (256, 1, 1),
                                         [.pointer(y.pointer), .int64(Int64(count))])
                }
                return y
            }
        }
        try runFallback(k, x, layer, gelu: gelu, residual: residual, into: y)
        return y
    }

    static func runFallback(_ k: CUDAKernels, _ x: CUDAMatrix, _ layer: CUDALinear, gelu: Bool, residual: CUDAMatrix?, into y: CUDAMatrix) throws {
        let m = x.rows, n = layer.outFeatures
        try k.context.launch(
            k.function("linear_fallback"), name: "linear_fallback", grid: ((n + 15) / 16, (m + 15) / 16, 1), block: (16, 16, 1),
            [.pointer(x.pointer), .pointer(layer.weight.pointer), .pointer(layer.bias.pointer), .pointer(residual?.pointer ?? 0),
             .pointer(y.pointer), .int32(Int32(m)), .int32(Int32(n)), .int32(Int32(layer.inFeatures)), .int32(gelu ? 1 : 0)])
    }
}
