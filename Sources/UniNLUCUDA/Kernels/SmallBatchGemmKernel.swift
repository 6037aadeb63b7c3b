import UniNLUCore

// Dense layers of small batches (FP16, at most 128 rows: one sequence of 128 tokens): y = act(x · Wᵀ
// + b) (+ residual) in one kernel, the K dimension split over a thread-block cluster. At 1x128 the
// encoder's four GEMMs are cuBLASLt kernels of 6-8 µs each plus a split-K reduce kernel (4.2 µs) for
// a weight read whose floor is 0.4-1.4 µs: latency, not bandwidth. Here each CTA takes a 128 x 64
// output tile and 1/S of K (S = 1…8 CTAs of one cluster, the grid kept within one wave), loads its
// whole x and W slices (at most 6 chunks of 64) by cp.async at once, multiplies by mma.sync m16n8k16
// (FP32 accumulators), leaves its partial tile in shared memory, and the cluster sums the S partials
// through distributed shared memory (mapa + ld.shared::cluster): CTA r finishes rows r·⌈128/S⌉…
// with bias, GELU (erf) and the residual. No workspace, no second kernel. Hopper (sm_90) and later:
// elsewhere the entry points are empty and never launched (cuBLASLt runs).

enum SmallBatchGemmKernel {
    static let source: String = #"""
    #if __CUDA_ARCH__ >= 900
    #define SMALLM_CLUSTER(S) __cluster_dims__(1, S, 1)
    #else
    #define SMALLM_CLUSTER(S)
    #endif
    template <int N>
    __device__ __forceinline__ void cp_async_wait_group() { asm volatile("cp.async.wait_group %0;" :: "n"(N) : "memory"); }
    #if __CUDA_ARCH__ >= 900
    __device__ __forceinline__ unsigned int cluster_rank() {
        unsigned int r; asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(r)); return r;
    }
    // Every CTA of the cluster arrives (its shared-memory writes released) and waits for the others.
    __device__ __forceinline__ void cluster_barrier() {
        asm volatile("barrier.cluster.arrive.release.aligned;\n\tbarrier.cluster.wait.acquire.aligned;" ::: "memory");
    }
    // Two floats at `local`'s offset in the shared memory of the cluster's CTA `rank`.
    __device__ __forceinline__ float2 load_cluster_f32x2(const float* local, unsigned int rank) {
        const unsigned int a = (unsigned int)__cvta_generic_to_shared(local);
        unsigned int remote;
        asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(remote) : "r"(a), "r"(rank));
        float2 v;
        asm volatile("ld.shared::cluster.v2.f32 {%0, %1}, [%2];" : "=f"(v.x), "=f"(v.y) : "r"(remote) : "memory");
        return v;
    }
    #endif
    // Tile: 128 rows (BM) x 64 columns (BN), K in chunks of 64 (BK); rows of 72 halves in shared memory
    // (144 bytes: ldmatrix without bank conflicts). 8 warps, 4 over the rows x 2 over the columns:
    // warp w computes rows 32(w&3).. +31, columns 32(w>>2).. +31. Every chunk of the CTA's K slice
    // (at most 6) is loaded at once: one wait on memory, not one per chunk.
    #define SMALLM_BM 128
    #define SMALLM_BN 64
    #define SMALLM_BK 64
    #define SMALLM_LD 72
    #define SMALLM_PARTIAL_LD 68
    __device__ __forceinline__ void gemm_small_m_stage(uninlu_f16* xs, uninlu_f16* ws, const uninlu_f16* __restrict__ x,
            const uninlu_f16* __restrict__ w, int m0, int M, int n0, int K, int kc) {
        const int tid = threadIdx.x;
        #pragma unroll
        for (int i = 0; i < SMALLM_BM * 8 / 256; ++i) {   // x: 128 rows x 8 chunks of 16 bytes
            const int c = tid + 256 * i, r = c >> 3, col = (c & 7) * 8;
            cp_async16(xs + r * SMALLM_LD + col, x + (long)min(m0 + r, M - 1) * K + kc + col);
        }
        #pragma unroll
        for (int i = 0; i < SMALLM_BN * 8 / 256; ++i) {   // W: 64 rows x 8 chunks
            const int c = tid + 256 * i, r = c >> 3, col = (c & 7) * 8;
            cp_async16(ws + r * SMALLM_LD + col, w + (long)(n0 + r) * K + kc + col);
        }
    }
    template <int SPLIT>
    __device__ __forceinline__ void gemm_small_m_impl(const uninlu_f16* __restrict__ x, const uninlu_f16* __restrict__ w,
            const uninlu_f16* __restrict__ bias, const uninlu_f16* __restrict__ residual, uninlu_f16* __restrict__ y,
            int M, int N, int K, int gelu) {
    #if __CUDA_ARCH__ >= 900
        extern __shared__ __align__(16) unsigned char smallm_smem[];
        constexpr int CHUNK = (SMALLM_BM + SMALLM_BN) * SMALLM_LD;   // halves: x rows, then W rows
        uninlu_f16* const tiles = reinterpret_cast<uninlu_f16*>(smallm_smem);
        const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
        const int g = lane >> 2, t = lane & 3, mi = lane >> 3, mr = lane & 7;
        const int wm = (warp & 3) * 32, wn = (warp >> 2) * 32;
        const int n0 = blockIdx.x * SMALLM_BN, m0 = blockIdx.z * SMALLM_BM;
        const unsigned int rank = SPLIT > 1 ? cluster_rank() : 0;
        const int kPer = K / SPLIT, kBegin = (int)rank * kPer, chunks = kPer / SMALLM_BK;
        for (int c = 0; c < chunks; ++c)
            gemm_small_m_stage(tiles + c * CHUNK, tiles + c * CHUNK + SMALLM_BM * SMALLM_LD, x, w, m0, M, n0, K, kBegin + c * SMALLM_BK);
        cp_async_commit();
        float acc[2][4][4];
        #pragma unroll
        for (int a = 0; a < 2; ++a)
            #pragma unroll
            for (int b = 0; b < 4; ++b) acc[a][b][0] = acc[a][b][1] = acc[a][b][2] = acc[a][b][3] = 0.f;
        cp_async_wait_group<0>();
        __syncthreads();
        for (int c = 0; c < chunks; ++c) {
            const uninlu_f16* xb = tiles + c * CHUNK;
            const uninlu_f16* wb = xb + SMALLM_BM * SMALLM_LD;
            #pragma unroll
            for (int kk = 0; kk < SMALLM_BK / 16; ++kk) {
                unsigned int a[2][4], b[4][2];
                #pragma unroll
                for (int mt = 0; mt < 2; ++mt)   // (rows 0-7 | 8-15) x (k 0-7 | 8-15) of this m16 tile
                    ldmatrix_x4(a[mt][0], a[mt][1], a[mt][2], a[mt][3],
                                xb + (wm + mt * 16 + (lane & 15)) * SMALLM_LD + kk * 16 + (lane >> 4) * 8);
                #pragma unroll
                for (int np = 0; np < 2; ++np)   // (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, k 0-7), (n 8-15, k 8-15)
                    ldmatrix_x4(b[2 * np][0], b[2 * np][1], b[2 * np + 1][0], b[2 * np + 1][1],
                                wb + (wn + np * 16 + (mi >> 1) * 8 + mr) * SMALLM_LD + kk * 16 + (mi & 1) * 8);
                #pragma unroll
                for (int mt = 0; mt < 2; ++mt)
                    #pragma unroll
                    for (int nt = 0; nt < 4; ++nt) mma_16816(acc[mt][nt], a[mt], b[nt][0], b[nt][1]);
            }
        }
        __syncthreads();   // the chunk buffers become the partial tile
        float* const part = reinterpret_cast<float*>(smallm_smem);
        #pragma unroll
        for (int mt = 0; mt < 2; ++mt)
            #pragma unroll
            for (int nt = 0; nt < 4; ++nt) {
                const int r = wm + mt * 16 + g, col = wn + nt * 8 + t * 2;
                *reinterpret_cast<float2*>(part + r * SMALLM_PARTIAL_LD + col) = make_float2(acc[mt][nt][0], acc[mt][nt][1]);
                *reinterpret_cast<float2*>(part + (r + 8) * SMALLM_PARTIAL_LD + col) = make_float2(acc[mt][nt][2], acc[mt][nt][3]);
            }
        if (SPLIT > 1) cluster_barrier(); else __syncthreads();
        // CTA `rank` finishes rows rank*R .. : the S partials summed, then bias, GELU, residual.
        constexpr int R = (SMALLM_BM + SPLIT - 1) / SPLIT;
        const int rowBegin = (int)rank * R, rowEnd = min(SMALLM_BM, rowBegin + R);
        for (int e = threadIdx.x; e < (rowEnd - rowBegin) * (SMALLM_BN / 2); e += 256) {
            const int r = rowBegin + e / (SMALLM_BN / 2), col = (e % (SMALLM_BN / 2)) * 2;
            const int row = m0 + r;
            if (row >= M) continue;
            float2 v = make_float2(0.f, 0.f);
            #pragma unroll
            for (int s = 0; s < SPLIT; ++s) {
                const float2 p = SPLIT > 1 ? load_cluster_f32x2(part + r * SMALLM_PARTIAL_LD + col, (unsigned int)s)
                                           : *reinterpret_cast<const float2*>(part + r * SMALLM_PARTIAL_LD + col);
                v.x += p.x; v.y += p.y;
            }
            const int n = n0 + col;
            v.x += f16_to_f32(bias[n]); v.y += f16_to_f32(bias[n + 1]);
            if (gelu) { v.x = gelu_erf(v.x); v.y = gelu_erf(v.y); }
            if (residual) {
                const unsigned int rr = *reinterpret_cast<const unsigned int*>(residual + (long)row * N + n);
                v.x += f16_to_f32((uninlu_f16)(rr & 0xffffu)); v.y += f16_to_f32((uninlu_f16)(rr >> 16));
            }
            *reinterpret_cast<unsigned int*>(y + (long)row * N + n) = pack_f16x2(v.x, v.y);
        }
        if (SPLIT > 1) cluster_barrier();   // no CTA leaves while another still reads its partials
    #endif
    }
    #define SMALLM_PARAMS const uninlu_f16* x, const uninlu_f16* w, const uninlu_f16* bias, const uninlu_f16* residual, \
            uninlu_f16* y, int M, int N, int K, int gelu
    """# + splits.map { s in
        "\nextern \"C\" __global__ void __launch_bounds__(256) SMALLM_CLUSTER(\(s)) gemm_small_m_s\(s)(SMALLM_PARAMS) "
            + "{ gemm_small_m_impl<\(s)>(x, w, bias, residual, y, M, N, K, gelu); }"
    }.joined()
    /// Cluster sizes (K splits) there are entry points for.
    static let splits = [1, 2, 3, 4, 6, 8]
    static var names: [String] { splits.map { "gemm_small_m_s\($0)" } }
    static let tileRows = 128
    static let tileColumns = 64
    static let chunk = 64
    static let threads = 256
    /// K chunks a CTA holds at once (its whole slice of K).
    static let maxChunks = 6
    /// Shared memory of one chunk: x (128 x 72 halves) and W (64 x 72 halves).
    static let chunkBytes = (128 + 64) * 72 * 2
    /// The FP32 partial tile (128 x 68 floats) reuses the chunk buffers.
    static let partialBytes = 128 * 68 * 4
    static var maxSharedBytes: Int { max(maxChunks * chunkBytes, partialBytes) }
    static func sharedBytes(k: Int, split: Int) -> Int { max((k / split / chunk) * chunkBytes, partialBytes) }

    /// The cluster size for (m, n, k), or nil when the kernel does not take the shape. A CTA holds its
    /// whole K slice (at most 6 chunks of 64), one CTA an SM at that size, so the grid should stay
    /// within one wave: the largest split whose grid fits in `multiprocessors`, else the smallest
    /// split that fits the slice.
    static func split(m: Int, n: Int, k: Int, multiprocessors: Int) -> Int? {
        guard m > 0, m <= tileRows, n % tileColumns == 0, k % chunk == 0 else { return nil }
        let tiles = n / tileColumns
        let usable = splits.filter { k % ($0 * chunk) == 0 && k / ($0 * chunk) <= maxChunks }
        return usable.last { tiles * $0 <= multiprocessors } ?? usable.first
    }
}

/// Op entry: runs the layer when the shape, precision and device allow; false otherwise (the caller
/// takes cuBLASLt).
enum SmallBatchGemmOp {
    static func run(_ k: CUDAKernels, x: CUDAMatrix, layer: CUDALinear, gelu: Bool, residual: CUDAMatrix?, into y: CUDAMatrix) throws -> Bool {
        guard k.precision == .fp16, k.smallBatchGemm, k.context.info.computeCapability.major >= 9,
              k.context.info.maxSharedMemoryPerBlockOptin >= SmallBatchGemmKernel.maxSharedBytes,
              let split = SmallBatchGemmKernel.split(m: x.rows, n: layer.outFeatures, k: layer.inFeatures,
                                                     multiprocessors: k.context.info.multiprocessorCount)
        else { return false }
        let name = "gemm_small_m_s\(split)"
        try k.context.launch(
            k.function(name), name: name,
            grid: (layer.outFeatures / SmallBatchGemmKernel.tileColumns, split, (x.rows + SmallBatchGemmKernel.tileRows - 1) / SmallBatchGemmKernel.tileRows),
            block: (SmallBatchGemmKernel.threads, 1, 1),
            sharedBytes: SmallBatchGemmKernel.sharedBytes(k: layer.inFeatures, split: split),
            [.pointer(x.pointer), .pointer(layer.weight.pointer), .pointer(layer.bias.pointer), .pointer(residual?.pointer ?? 0),
             .pointer(y.pointer), .int32(Int32(x.rows)), .int32(Int32(layer.outFeatures)), .int32(Int32(layer.inFeatures)), .int32(gelu ? 1 : 0)])
        return true
    }
}

/// Which dense-layer shapes the small-batch GEMM takes (for `uninlu check` to name the kernel a case runs).
public enum SmallBatchGemmShape {
    /// The cluster size (K split) for the shape on a GPU of `multiprocessors` SMs; nil: cuBLASLt runs it.
    public static func split(m: Int, n: Int, k: Int, multiprocessors: Int) -> Int? {
        SmallBatchGemmKernel.split(m: m, n: n, k: k, multiprocessors: multiprocessors)
    }
}
