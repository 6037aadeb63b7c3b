import CCUDA

// Our own tensor-core GEMM for small row counts, a candidate beside cuBLASLt's algorithms in the
// GEMM autotune (GemmEngine.swift). At 128 rows a BERT-base dense layer's math and weight traffic
// take about 1 µs, yet cuBLASLt's kernels took 5-7 µs each under ncu on an H200: their start (TMA
// descriptors, warp-specialised pipelines sized for large tiles) dominates. This kernel starts
// cheaply and tiles finely enough to spread 128 rows over most SMs. With so few rows a block's K
// loop is bound by memory latency, not math: it keeps 5 to 7 K steps in flight (deep cp.async
// stages in dynamic shared memory), as cuBLASLt's own small-M kernels do with 7 to 16 stages.
//
// y = x · Wᵀ with x [M x K] and W [N x K] both K-contiguous: the mma's row.col operand layout as
// stored, so both are read by plain (untransposed) ldmatrix. A block of 4 warps computes a BM x BN
// tile over one slice of K (blockIdx.z of gridDim.z equal slices): 64-wide K steps staged by cp.async
// into a ring of shared-memory stages (rows padded to 144 bytes, so the 8 rows an ldmatrix reads fall
// in distinct banks), mma.sync m16n8k16 with FP32 accumulators. Rows and columns past the matrix are
// zero-filled by the copies and never stored.
//
// Output: with `partials`, each slice's FP32 products at partials[z][M][N] (the summing LayerNorm of
// ResidualLayerNormKernel.swift adds bias and residual); otherwise (one slice) y = act(acc + bias)
// (+ residual) in FP16, GELU in its exact (erf) form, in the order of the fallback kernel.
// Shapes: K a multiple of 64 x slices, N a multiple of 8, operands 16-byte aligned (`supports`).

enum TensorCoreGemmKernel {
    static let source = #"""
    #define GEMM_BK 64
    #define GEMM_ROW 72
    // One operand's share of a stage for this thread: rows of 64 halves as 8 16-byte chunks, chunk
    // c = threadIdx.x + i * THREADS. Sources, destinations and the in-range test are fixed for the
    // whole K loop, so they are computed once (ncu: with them recomputed per step, a 1-warp-per-
    // scheduler block spent its time on integer latency chains, not on memory).
    template <int ROWS, int THREADS>
    struct GemmStageLoader {
        static constexpr int CHUNKS = ROWS * 8, ITERS = (CHUNKS + THREADS - 1) / THREADS;
        const uninlu_f16* src[ITERS];
        unsigned int dst[ITERS];
        bool valid[ITERS];
        __device__ __forceinline__ GemmStageLoader(const uninlu_f16* __restrict__ base, int first, int limit, int K, int kBegin, unsigned int offset) {
            #pragma unroll
            for (int i = 0; i < ITERS; ++i) {
                const int c = threadIdx.x + i * THREADS, r = c >> 3, col = (c & 7) * 8, row = first + r;
                valid[i] = c < CHUNKS && row < limit;
                src[i] = base + (long)min(row, limit - 1) * K + kBegin + col;
                dst[i] = offset + (unsigned int)(r * GEMM_ROW + col) * 2u;
            }
        }
        // Issues this thread's copies of K step `step` into the stage at shared address `stage`.
        __device__ __forceinline__ void load(unsigned int stage, int step) const {
            #pragma unroll
            for (int i = 0; i < ITERS; ++i)
                if (CHUNKS % THREADS == 0 || threadIdx.x + i * THREADS < CHUNKS)
                    cp_async16_zfill_s(stage + dst[i], src[i] + step * GEMM_BK, valid[i]);
        }
    };
    template <int BM, int BN, int WARPS_M, int WARPS_N, int STAGES>
    __device__ __forceinline__ void gemm_tc_impl(const uninlu_f16* __restrict__ x, const uninlu_f16* __restrict__ w,
            const uninlu_f16* __restrict__ bias, const uninlu_f16* __restrict__ residual, uninlu_f16* __restrict__ y,
            float* __restrict__ partials, int M, int N, int K, int gelu) {
        constexpr int THREADS = 32 * WARPS_M * WARPS_N, TM = BM / WARPS_M, TN = BN / WARPS_N, MI = TM / 16, NI = TN / 8;
        constexpr unsigned int STAGE_BYTES = (BM + BN) * GEMM_ROW * 2;
        // Dynamic shared memory: STAGES stages of BM A rows then BN B rows, GEMM_ROW halves each.
        extern __shared__ __align__(16) unsigned char gemm_smem[];
        const unsigned int smem = (unsigned int)__cvta_generic_to_shared(gemm_smem);
        const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
        const int wm = warp % WARPS_M, wn = warp / WARPS_M;
        const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
        const int slice = K / gridDim.z, kBegin = blockIdx.z * slice, tiles = slice / GEMM_BK;
        // Blocks that share rows of x (same blockIdx.y) or of W (same blockIdx.x) walk K from
        // different steps, so that they do not all ask one L2 slice for the same lines at once.
        const int rotation = (blockIdx.x + 7 * blockIdx.y) % tiles;
        #define GEMM_STEP(t) ((t) + rotation < tiles ? (t) + rotation : (t) + rotation - tiles)
        const GemmStageLoader<BM, THREADS> loadA(x, m0, M, K, kBegin, 0u);
        const GemmStageLoader<BN, THREADS> loadB(w, n0, N, K, kBegin, (unsigned int)(BM * GEMM_ROW * 2));
        // This lane's ldmatrix rows within a stage (A: rows of the m16 tile, k halves by lane / 16;
        // B: two n8 tiles' rows, k halves by (lane / 8) % 2), in bytes.
        const unsigned int aLane = (unsigned int)((wm * TM + (lane & 15)) * GEMM_ROW + (lane >> 4) * 8) * 2u;
        const unsigned int bLane = (unsigned int)(BM * GEMM_ROW + (wn * TN + ((lane >> 4) << 3) + (lane & 7)) * GEMM_ROW + ((lane >> 3) & 1) * 8) * 2u;
        float acc[MI][NI][4];
        #pragma unroll
        for (int i = 0; i < MI; ++i)
            #pragma unroll
            for (int j = 0; j < NI; ++j) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.f;
        #pragma unroll
        for (int s = 0; s < STAGES - 1; ++s) {
            if (s < tiles) { loadA.load(smem + s * STAGE_BYTES, GEMM_STEP(s)); loadB.load(smem + s * STAGE_BYTES, GEMM_STEP(s)); }
            cp_async_commit();   // empty groups too: the wait below counts groups
        }
        int readStage = 0, writeStage = STAGES - 1;
        for (int t = 0; t < tiles; ++t) {
            cp_async_wait_pending<STAGES - 2>();
            __syncthreads();   // tile t visible to all warps; tile t-1's stage free for reuse
            if (t + STAGES - 1 < tiles) {
                loadA.load(smem + writeStage * STAGE_BYTES, GEMM_STEP(t + STAGES - 1));
                loadB.load(smem + writeStage * STAGE_BYTES, GEMM_STEP(t + STAGES - 1));
            }
            cp_async_commit();
            writeStage = writeStage == STAGES - 1 ? 0 : writeStage + 1;
            const unsigned int stage = smem + readStage * STAGE_BYTES;
            readStage = readStage == STAGES - 1 ? 0 : readStage + 1;
            #pragma unroll
            for (int kk = 0; kk < GEMM_BK / 16; ++kk) {
                unsigned int af[MI][4], bf[NI][2];
                #pragma unroll
                for (int i = 0; i < MI; ++i)
                    ldmatrix_x4_s(af[i][0], af[i][1], af[i][2], af[i][3], stage + aLane + (i * 16 * GEMM_ROW + kk * 16) * 2);
                #pragma unroll
                for (int j = 0; j < NI / 2; ++j)
                    ldmatrix_x4_s(bf[2 * j][0], bf[2 * j][1], bf[2 * j + 1][0], bf[2 * j + 1][1], stage + bLane + (j * 16 * GEMM_ROW + kk * 16) * 2);
                #pragma unroll
                for (int i = 0; i < MI; ++i)
                    #pragma unroll
                    for (int j = 0; j < NI; ++j) mma_16816(acc[i][j], af[i], bf[j][0], bf[j][1]);
            }
        }
        cp_async_wait_all();
        #undef GEMM_STEP
        const int g = lane >> 2, tq = lane & 3;
        #pragma unroll
        for (int i = 0; i < MI; ++i) {
            #pragma unroll
            for (int j = 0; j < NI; ++j) {
                const int col = n0 + wn * TN + j * 8 + tq * 2;
                if (col >= N) continue;   // N is a multiple of 8: col + 1 < N
                #pragma unroll
                for (int h = 0; h < 2; ++h) {
                    const int row = m0 + wm * TM + i * 16 + g + h * 8;
                    if (row >= M) continue;
                    float v0 = acc[i][j][2 * h], v1 = acc[i][j][2 * h + 1];
                    if (partials) {
                        *reinterpret_cast<float2*>(partials + ((long)blockIdx.z * M + row) * N + col) = make_float2(v0, v1);
                        continue;
                    }
                    v0 += f16_to_f32(bias[col]);
                    v1 += f16_to_f32(bias[col + 1]);
                    if (gelu) { v0 = gelu_erf(v0); v1 = gelu_erf(v1); }
                    if (residual) {
                        v0 += f16_to_f32(residual[(long)row * N + col]);
                        v1 += f16_to_f32(residual[(long)row * N + col + 1]);
                    }
                    *reinterpret_cast<unsigned int*>(y + (long)row * N + col) = pack_f16x2(v0, v1);
                }
            }
        }
    }
    // Entry points by tile (rows x columns, warps along rows and columns, stages: about 170 KB of
    // shared memory at most, which needs the opt-in limit of sm_80 and later; `Tile.sharedBytes`).
    #define UNINLU_GEMM_TC(BM, BN, WARPS_M, WARPS_N, STAGES) \
    extern "C" __global__ void __launch_bounds__(32 * WARPS_M * WARPS_N) gemm_tc_##BM##x##BN(const uninlu_f16* __restrict__ x, \
            const uninlu_f16* __restrict__ w, const uninlu_f16* __restrict__ bias, const uninlu_f16* __restrict__ residual, \
            uninlu_f16* __restrict__ y, float* __restrict__ partials, int M, int N, int K, int gelu) { \
        gemm_tc_impl<BM, BN, WARPS_M, WARPS_N, STAGES>(x, w, bias, residual, y, partials, M, N, K, gelu); }
    UNINLU_GEMM_TC(128, 64, 4, 2, 6)
    UNINLU_GEMM_TC(64, 64, 2, 4, 7)
    UNINLU_GEMM_TC(32, 64, 2, 4, 7)
    UNINLU_GEMM_TC(64, 32, 4, 2, 7)
    UNINLU_GEMM_TC(16, 64, 1, 4, 7)
    UNINLU_GEMM_TC(32, 32, 2, 2, 8)
    UNINLU_GEMM_TC(16, 32, 1, 2, 8)
    """#

    /// One compiled tile shape.
    struct Tile: Hashable, Sendable {
        let rows: Int, columns: Int
        /// Warps along rows and columns, and the stages of the K ring (as compiled: UNINLU_GEMM_TC's arguments).
        let warpRows: Int, warpColumns: Int
        let stages: Int
        var threads: Int { 32 * warpRows * warpColumns }
        var name: String { "gemm_tc_\(rows)x\(columns)" }
        /// Dynamic shared memory of one block.
        var sharedBytes: Int { stages * (rows + columns) * TensorCoreGemmKernel.paddedRow * 2 }
        init(rows: Int, columns: Int, warps: (rows: Int, columns: Int), stages: Int) {
            self.rows = rows; self.columns = columns; warpRows = warps.rows; warpColumns = warps.columns; self.stages = stages
        }
        init?(name: String) {
            guard let tile = TensorCoreGemmKernel.tiles.first(where: { $0.name == name }) else { return nil }
            self = tile
        }
    }

    static let tiles = [Tile(rows: 128, columns: 64, warps: (4, 2), stages: 6), Tile(rows: 64, columns: 64, warps: (2, 4), stages: 7),
                        Tile(rows: 32, columns: 64, warps: (2, 4), stages: 7), Tile(rows: 64, columns: 32, warps: (4, 2), stages: 7),
                        Tile(rows: 16, columns: 64, warps: (1, 4), stages: 7), Tile(rows: 32, columns: 32, warps: (2, 2), stages: 8),
                        Tile(rows: 16, columns: 32, warps: (1, 2), stages: 8)]
    static var names: [String] { tiles.map(\.name) }
    /// K steps are this wide; each slice of K must be a whole number of them.
    static let stepK = 64
    /// Halves per staged row (a K step plus 16 bytes of padding).
    static let paddedRow = 72

    /// Whether the kernel computes this shape (any tile): FP16 operands, K in whole steps per slice,
    /// N in whole 8-column mma tiles, every operand 16-byte aligned.
    static func supports(m: Int, n: Int, k: Int, splits: Int, pointers: [CUdeviceptr]) -> Bool {
        m > 0 && n > 0 && n % 8 == 0 && splits >= 1 && k % (splits * stepK) == 0 && k / splits >= stepK
            && pointers.allSatisfy { $0 % 16 == 0 }
    }

    /// The tiles worth timing for M rows: none taller than M rounded up to 16 (a taller tile only
    /// computes zero rows).
    static func candidates(m: Int, from available: [Tile] = tiles) -> [Tile] {
        let reach = (m + 15) / 16 * 16
        return available.filter { $0.rows <= reach }
    }

    static func grid(_ tile: Tile, m: Int, n: Int, splits: Int) -> (Int, Int, Int) {
        ((n + tile.columns - 1) / tile.columns, (m + tile.rows - 1) / tile.rows, splits)
    }
}
