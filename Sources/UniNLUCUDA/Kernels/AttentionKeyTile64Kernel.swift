// BERT attention for wide batches (FP16, head size 64) with 64-key tiles: the same blocks as
// `attention_tc_shared_d64` (4 warps, one 64-query item of one head, K/V staged once per block by
// cp.async, double-buffered), but each tile holds 64 keys instead of 16. The ncu reading behind it
// (H200, 128x128): the 16-key kernel was instruction-bound on the per-tile softmax bookkeeping (row
// maxima over shuffles, two rescale exponentials, 32 multiplies of the output rows) and a block
// barrier every 16 keys; here both are paid once per 64 keys (ncu at 128x128: 76.9 -> 54.2 µs a
// layer), bound next by L2 (65% busy) at 25% occupancy (126 registers). Blocks of 8 warps (128
// queries, each K/V tile staged once for twice the queries) measured no faster (94d7162, removed):
// L2 already serves the second read. Scores are kept in log2 units (Q is
// pre-scaled by scale·log2 e) so that every exponential is one exp2f. Needs TensorCorePrelude's
// helpers (mma_16816, ldmatrix, cp_async16, pack_f16x2) and AttentionKernel.source's (quad_sum,
// attention_tc_store_rows), which come before it.

enum AttentionKeyTile64Kernel {
    static let source = #"""
    // Keys kb..kb+63 of one head into ks/vs (rows of 72 halves): 512 16-byte chunks each of K and V,
    // 4 + 4 a thread of the 128, one commit group. Rows past the sequence repeat its last key (finite
    // values: their weights are 0, and 0·NaN from stale shared memory would not be).
    __device__ __forceinline__ void stage_kv_tile64_async(uninlu_f16* ks, uninlu_f16* vs, const uninlu_f16* __restrict__ qkv,
            int seqStart, int len, int kb, long ld, int H, int head) {
        #pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int c = threadIdx.x + 128 * i, row = c >> 3, col = (c & 7) * 8;
            const long src = (long)(seqStart + min(kb + row, len - 1)) * ld + (long)head * 64 + col;
            cp_async16(ks + row * 72 + col, qkv + src + H);
            cp_async16(vs + row * 72 + col, qkv + src + 2L * H);
        }
        cp_async_commit();
    }
    // Two FP16 values (low half first) times `scale`, rounded back to FP16 as pack_f16x2 does.
    __device__ __forceinline__ unsigned int scale_f16x2(unsigned int w, float scale) {
        return pack_f16x2(f16_to_f32((uninlu_f16)(w & 0xffffu)) * scale, f16_to_f32((uninlu_f16)(w >> 16)) * scale);
    }
    extern "C" __global__ void __launch_bounds__(128) attention_tc_k64_d64(const uninlu_f16* __restrict__ qkv, uninlu_f16* __restrict__ out,
            const int4* __restrict__ items, const unsigned char* __restrict__ keyMask, int heads, int maxLen, float scale) {
        constexpr int ROW = 72, TILE = 64;
        __shared__ __align__(16) uninlu_f16 tiles[2][2][TILE * ROW];   // two buffers of (K, V): 36,864 bytes
        const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
        const int4 item = items[blockIdx.x];
        const int head = blockIdx.y;
        const int seqStart = item.x, len = item.y;
        const int q0 = item.z + warp * 16;
        const int qEnd = item.z + item.w;
        // A warp without queries still stages its share of every tile and meets the block's barriers.
        const bool active = q0 < qEnd;
        const int H = heads * 64;
        const long ld = 3L * H;
        const int g = lane >> 2, t = lane & 3;
        stage_kv_tile64_async(tiles[0][0], tiles[0][1], qkv, seqStart, len, 0, ld, H, head);
        const float qscale = scale * 1.4426950408889634f;   // log2(e): softmax by exp2
        unsigned int qa[4][4];
        const int r0 = min(q0 + g, qEnd - 1), r1 = min(q0 + g + 8, qEnd - 1);
        const uninlu_f16* qrow0 = qkv + (long)r0 * ld + (long)head * 64;
        const uninlu_f16* qrow1 = qkv + (long)r1 * ld + (long)head * 64;
        // Each fragment register is two adjacent halves of a row: one 4-byte load, not two 2-byte ones.
        const unsigned int* q0w = reinterpret_cast<const unsigned int*>(qrow0);
        const unsigned int* q1w = reinterpret_cast<const unsigned int*>(qrow1);
        #pragma unroll
        for (int kk = 0; kk < 4; ++kk) {
            const int c = (kk * 16 + t * 2) >> 1;
            qa[kk][0] = scale_f16x2(q0w[c], qscale);
            qa[kk][1] = scale_f16x2(q1w[c], qscale);
            qa[kk][2] = scale_f16x2(q0w[c + 4], qscale);
            qa[kk][3] = scale_f16x2(q1w[c + 4], qscale);
        }
        float o[8][4];
        #pragma unroll
        for (int n = 0; n < 8; ++n) { o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f; }
        float m0 = NEG_INF, m1 = NEG_INF, l0 = 0.f, l1 = 0.f;
        bool anyKey = false;
        const int mi = lane >> 3, mr = lane & 7;   // ldmatrix: matrix and row of this lane's address
        for (int kb = 0, it = 0; kb < len; kb += TILE, ++it) {
            cp_async_wait_all();   // this thread's copies of tile `it`
            __syncthreads();       // everyone's copies landed; everyone is done with tile it - 1
            if (kb + TILE < len) stage_kv_tile64_async(tiles[(it + 1) & 1][0], tiles[(it + 1) & 1][1], qkv, seqStart, len, kb + TILE, ld, H, head);
            if (!active) continue;
            const uninlu_f16* ks = tiles[it & 1][0];
            const uninlu_f16* vs = tiles[it & 1][1];
            const int keys = min(TILE, len - kb);   // the same for the whole block: branches stay uniform
            // S = Q·Kᵀ: 8 n-tiles of 8 keys; a pair of them per ldmatrix_x4.
            float s[8][4];
            #pragma unroll
            for (int nt = 0; nt < 8; ++nt) { s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f; }
            #pragma unroll
            for (int np = 0; np < 4; ++np) {
                if (np * 16 >= keys) break;
                #pragma unroll
                for (int kk = 0; kk < 4; ++kk) {
                    unsigned int b0, b1, b2, b3;
                    ldmatrix_x4(b0, b1, b2, b3, ks + (np * 16 + (mi >> 1) * 8 + mr) * ROW + kk * 16 + (mi & 1) * 8);
                    mma_16816(s[2 * np], qa[kk], b0, b1);
                    mma_16816(s[2 * np + 1], qa[kk], b2, b3);
                }
            }
            // Mask (keys past the sequence, masked keys), then the tile's row maxima.
            float bm0, bm1;
            mask_tile_row_max<8>(s, kb, len, keyMask, seqStart, t, bm0, bm1);
            if (bm0 != NEG_INF) anyKey = true;   // the mask is per key: the same for every row
            const float n0 = fmaxf(m0, bm0), n1 = fmaxf(m1, bm1);
            const float c0 = (n0 == NEG_INF) ? 1.f : exp2f(m0 - n0);
            const float c1 = (n1 == NEG_INF) ? 1.f : exp2f(m1 - n1);
            m0 = n0; m1 = n1;
            #pragma unroll
            for (int n = 0; n < 8; ++n) { o[n][0] *= c0; o[n][1] *= c0; o[n][2] *= c1; o[n][3] *= c1; }
            float ps0 = 0.f, ps1 = 0.f;
            // O += P·V, 16 keys at a time: P (FP16) from two n-tiles of S as the A operand.
            #pragma unroll
            for (int kc = 0; kc < 4; ++kc) {
                if (kc * 16 >= keys) break;
                float p[2][4];
                #pragma unroll
                for (int h = 0; h < 2; ++h) {
                    #pragma unroll
                    for (int e = 0; e < 2; ++e) {
                        const float* sv = s[2 * kc + h];
                        p[h][e] = sv[e] == NEG_INF ? 0.f : exp2f(sv[e] - m0);
                        p[h][2 + e] = sv[2 + e] == NEG_INF ? 0.f : exp2f(sv[2 + e] - m1);
                        ps0 += p[h][e];
                        ps1 += p[h][2 + e];
                    }
                }
                unsigned int pa[4];
                pa[0] = pack_f16x2(p[0][0], p[0][1]);
                pa[1] = pack_f16x2(p[0][2], p[0][3]);
                pa[2] = pack_f16x2(p[1][0], p[1][1]);
                pa[3] = pack_f16x2(p[1][2], p[1][3]);
                #pragma unroll
                for (int n = 0; n < 8; n += 2) {
                    unsigned int b0, b1, b2, b3;
                    ldmatrix_x4_trans(b0, b1, b2, b3, vs + (kc * 16 + (mi & 1) * 8 + mr) * ROW + (n + (mi >> 1)) * 8);
                    mma_16816(o[n], pa, b0, b1);
                    mma_16816(o[n + 1], pa, b2, b3);
                }
            }
            l0 = l0 * c0 + ps0;
            l1 = l1 * c1 + ps1;
        }
        if (!active) return;   // past the last barrier
        attention_tc_store_rows(out, qkv, o, quad_sum(l0), quad_sum(l1), anyKey, seqStart, len, q0, qEnd, ld, H, head, g, t);
    }
    """#
    static let names = ["attention_tc_k64_d64"]
    /// Keys per staged tile.
    static let keysPerTile = 64
}
