import CCUDA

// The end of a post-LN sublayer, LayerNorm(x · Wᵀ + b + residual), for few rows: cuBLASLt writes the
// FP32 products of S slices of K (GemmEngine.partials, one strided-batched GEMM, no epilogue) and
// one kernel sums them with bias and residual and normalises the row. At 128 rows the unfused path
// is a GEMM whose best algorithm is split-K, cuBLASLt's own split-K reduce (~4 µs), and our
// LayerNorm (~3 µs); here the reduce and the LayerNorm are one warp-per-row pass. The pre-norm sum
// stays in FP32 (the unfused path rounds it to FP16 once).
//
// The split count (0 = the unfused path) is chosen per (rows rounded up to a power of two, out, in)
// by timing every candidate on the real operands at the bucket's first use, as the GEMM autotune
// does, and travels in engine plans. Buckets, because under `serve` the row count is a batch's packed
// length and every new one would pay the timing (each candidate's partial GEMM is tuned too).

enum ResidualLayerNormKernel {
    static let source = #"""
    // v += the S slices' FP32 rows (p: this lane's first column of slice 0; slices splitStride apart).
    template <int C, int S>
    __device__ __forceinline__ void add_slices(float (&v)[C][8], const float* __restrict__ p, long splitStride) {
        #pragma unroll
        for (int s = 0; s < S; ++s) {
            #pragma unroll
            for (int c = 0; c < C; ++c) {
                const float* q = p + s * splitStride + c * 256;
                const float4 a = *reinterpret_cast<const float4*>(q), d = *reinterpret_cast<const float4*>(q + 4);
                v[c][0] += a.x; v[c][1] += a.y; v[c][2] += a.z; v[c][3] += a.w;
                v[c][4] += d.x; v[c][5] += d.y; v[c][6] += d.z; v[c][7] += d.w;
            }
        }
    }
    template <int C>
    __device__ __forceinline__ void residual_layer_norm_rows(const float* __restrict__ partials, int splits, long splitStride,
            const act_t* __restrict__ bias, const act_t* __restrict__ residual, act_t* __restrict__ y,
            const float* __restrict__ gamma, const float* __restrict__ beta, int rows, float eps) {
        const int lane = threadIdx.x & 31;
        const int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
        if (row >= rows) return;
        const int width = C * 256;
        float4 gb[C][4];
        warp_row_load_affine<C>(gb, gamma, beta, lane);
        float v[C][8];
        #pragma unroll
        for (int c = 0; c < C; ++c) {
            const int col = c * 256 + lane * 8;
            float b[8];
            load_act8(residual + (long)row * width + col, v[c]);
            load_act8(bias + col, b);
            #pragma unroll
            for (int i = 0; i < 8; ++i) v[c][i] += b[i];
        }
        // Straight-line code per slice count, so that every slice's loads are in flight at once: a
        // loop over a run-time count waited on each slice before the next (5.6 µs at 1x128 under
        // ncu, twice the plain LayerNorm).
        const float* p = partials + (long)row * width + lane * 8;
        switch (splits) {
        case 1: add_slices<C, 1>(v, p, splitStride); break;
        case 2: add_slices<C, 2>(v, p, splitStride); break;
        case 3: add_slices<C, 3>(v, p, splitStride); break;
        case 4: add_slices<C, 4>(v, p, splitStride); break;
        default: for (int s = 0; s < splits; ++s) add_slices<C, 1>(v, p + s * splitStride, splitStride); break;
        }
        warp_row_normalize_store<C>(v, gb, y + (long)row * width, eps, lane);
    }
    extern "C" __global__ void residual_layer_norm_c1(const float* partials, int splits, long splitStride, const act_t* bias, const act_t* residual,
            act_t* y, const float* g, const float* b, int rows, float eps) { residual_layer_norm_rows<1>(partials, splits, splitStride, bias, residual, y, g, b, rows, eps); }
    extern "C" __global__ void residual_layer_norm_c2(const float* partials, int splits, long splitStride, const act_t* bias, const act_t* residual,
            act_t* y, const float* g, const float* b, int rows, float eps) { residual_layer_norm_rows<2>(partials, splits, splitStride, bias, residual, y, g, b, rows, eps); }
    extern "C" __global__ void residual_layer_norm_c3(const float* partials, int splits, long splitStride, const act_t* bias, const act_t* residual,
            act_t* y, const float* g, const float* b, int rows, float eps) { residual_layer_norm_rows<3>(partials, splits, splitStride, bias, residual, y, g, b, rows, eps); }
    extern "C" __global__ void residual_layer_norm_c4(const float* partials, int splits, long splitStride, const act_t* bias, const act_t* residual,
            act_t* y, const float* g, const float* b, int rows, float eps) { residual_layer_norm_rows<4>(partials, splits, splitStride, bias, residual, y, g, b, rows, eps); }
    """#
    static let names = (1...4).map { "residual_layer_norm_c\($0)" }

    static func kernel(width: Int) -> String? {
        LayerNormKernel.warpKernel(width: width) == nil ? nil : "residual_layer_norm_c\(width / 256)"
    }

    /// Split counts tried, besides the unfused path (6 and 8 were never chosen on an H200 once the
    /// timing ran as a graph replay does; each candidate costs its own GEMM tuning).
    static let candidateSplits = [1, 2, 3, 4]
    /// FP32 partial products are not worth their traffic past this (32 MiB: at 768 columns, 4 splits
    /// of 2,730 rows). Wide batches keep the unfused path, whose GEMM is compute-bound.
    static let maxPartialBytes = 32 << 20

    /// The split counts worth timing for this shape: slices of whole 16-byte rows, partials under the cap.
    static func splits(rows m: Int, out n: Int, in k: Int, elementSize: Int) -> [Int] {
        candidateSplits.filter { s in
            k % s == 0 && ((k / s) * elementSize) % 16 == 0 && s * m * n * 4 <= maxPartialBytes
        }
    }
}

/// Op entry: `LayerNorm(x · Wᵀ + b + residual)` by the timed choice for the shape.
enum ResidualLayerNormOp {
    /// A choice's key: rows rounded up to a power of two.
    struct Shape: Hashable {
        var m: Int, n: Int, k: Int
        init(rows: Int, out: Int, in inFeatures: Int) {
            var bucket = 1
            while bucket < rows { bucket <<= 1 }
            m = bucket
            n = out
            k = inFeatures
        }
    }

    static func run(_ k: CUDAKernels, _ x: CUDAMatrix, _ layer: CUDALinear, residual: CUDAMatrix, _ norm: CUDANorm) throws -> CUDAMatrix {
        guard x.columns == layer.inFeatures, residual.rows == x.rows, residual.columns == layer.outFeatures, norm.width == layer.outFeatures else {
            throw CUDAError.shapeMismatch(
                op: "linearResidualNorm",
                detail: "x \(x.rows)x\(x.columns), layer \(layer.outFeatures)x\(layer.inFeatures), residual \(residual.rows)x\(residual.columns), norm \(norm.width)")
        }
        let shape = Shape(rows: x.rows, out: layer.outFeatures, in: layer.inFeatures)
        let m = x.rows
        let candidates = k.residualNormSplitCandidates(rows: m, out: shape.n, in: shape.k)
        guard !candidates.isEmpty else { return try unfused(k, x, layer, residual: residual, norm) }
        let splits: Int
        if let forced = k.forcedResidualNormSplits, forced == 0 || candidates.contains(forced) {
            splits = forced
        } else if let chosen = k.residualNormSplits[shape], chosen == 0 || candidates.contains(chosen) {
            splits = chosen
        } else if !k.autotune {
            splits = 0  // no timing asked for: the unfused path, as the GEMMs take cuBLASLt's first candidate
        } else if k.context.recorder.map({ $0.mode == .dryRun }) ?? true {
            let timed = try time(k, x, layer, residual: residual, norm, candidates: candidates)
            splits = pick(timed)
            k.residualNormSplits[shape] = splits
            k.residualNormTimings[shape] = timed
        } else {
            // Capturing or patching a graph without a choice (impossible after its dry run): issue nothing timed.
            splits = 0
        }
        guard splits > 0 else { return try unfused(k, x, layer, residual: residual, norm) }
        let y = try k.makeMatrix(rows: m, columns: shape.n)
        let partials = try k.allocateFloats(splits * m * shape.n)
        if try !fused(k, x, layer, residual: residual, norm, splits: splits, partials: partials.pointer, into: y) {
            return try unfused(k, x, layer, residual: residual, norm)
        }
        return y
    }

    static func unfused(_ k: CUDAKernels, _ x: CUDAMatrix, _ layer: CUDALinear, residual: CUDAMatrix, _ norm: CUDANorm) throws -> CUDAMatrix {
        try LayerNormOp.run(k, LinearOp.run(k, x, layer, activation: .none, residual: residual), norm)
    }

    /// The partials GEMM and the summing LayerNorm; false when cuBLASLt has no algorithm for the slices.
    static func fused(_ k: CUDAKernels, _ x: CUDAMatrix, _ layer: CUDALinear, residual: CUDAMatrix, _ norm: CUDANorm,
                      splits: Int, partials: CUdeviceptr, into y: CUDAMatrix) throws -> Bool {
        let m = x.rows, n = layer.outFeatures
        guard let name = ResidualLayerNormKernel.kernel(width: n),
              try k.gemm.partials(x: x.pointer, weight: layer.weight.pointer, output: partials, m: m, n: n, k: layer.inFeatures, splits: splits)
        else { return false }
        let perBlock = LayerNormKernel.warpRowsPerBlock
        try k.context.launch(
            k.function(name), name: name, grid: ((m + perBlock - 1) / perBlock, 1, 1), block: (32 * perBlock, 1, 1),
            [.pointer(partials), .int32(Int32(splits)), .int64(Int64(m * n)), .pointer(layer.bias.pointer), .pointer(residual.pointer),
             .pointer(y.pointer), .pointer(norm.gamma), .pointer(norm.beta), .int32(Int32(m)), .float(norm.epsilon)])
        return true
    }

    /// The fastest of `timed`; a tie goes to the fewer slices (0, unfused, first). A margin in favour
    /// of fewer slices was tried (UNINLU_RESIDUAL_NORM_MARGIN 0.05 and 0.1): it also kept the attention
    /// output unfused, and BERT 1x128 went from 0.383-0.393 to 0.393-0.395 ms
    /// (bench/results/2026-12-04-residual-norm-margin-h200.txt).
    static func pick(_ timed: [(splits: Int, microseconds: Double)]) -> Int {
        timed.min { ($0.microseconds, $0.splits) < ($1.microseconds, $1.splits) }?.splits ?? 0
    }

    /// Times the unfused path and each split count on the real operands (one untimed run, which also
    /// tunes the GEMMs, then `repeats` timed behind a stream hold, as a graph replay runs them): each
    /// candidate that ran (0: unfused) with its µs a run.
    static func time(_ k: CUDAKernels, _ x: CUDAMatrix, _ layer: CUDALinear, residual: CUDAMatrix, _ norm: CUDANorm,
                     candidates: [Int], repeats: Int = 10) throws -> [(splits: Int, microseconds: Double)] {
        let m = x.rows, n = layer.outFeatures
        let y = try k.makeMatrix(rows: m, columns: n)
        let partials = try k.allocateFloats((candidates.max() ?? 1) * m * n)
        let start = try k.context.makeEvent(), end = try k.context.makeEvent()
        var timed: [(splits: Int, microseconds: Double)] = []
        for splits in [0] + candidates {
            let body: () throws -> Bool = {
                if splits == 0 { _ = try unfused(k, x, layer, residual: residual, norm); return true }
                return try fused(k, x, layer, residual: residual, norm, splits: splits, partials: partials.pointer, into: y)
            }
            guard try body() else { continue }
            try k.holdStream(runs: repeats)
            try start.record()
            for _ in 0..<repeats { _ = try body() }
            try end.record()
            try end.synchronize()
            timed.append((splits, try end.milliseconds(since: start) * 1000 / Double(repeats)))
        }
        return timed
    }
}
