import UniNLUCore
// Fused attention over packed variable-length sequences (no padding computed): scores, key mask,
// softmax and the weighted sum of V in one kernel, FP32 scores/softmax/accumulators. A block is 4
// warps; each warp takes up to 4 queries of one sequence and one head, lanes split the keys for the
// scores and the head dimensions for the output. Work items (seqStart, seqLen, firstQuery, count<=16)
// are built on the host. Head sizes 16/32/64/128; rows must be 16-byte aligned (hidden % 8 == 0).
// A query whose keys are all masked gets uniform weights, as upstream's finfo.min bias gives.

enum AttentionKernel {
    static let source = #"""
    template <int D>
    __device__ __forceinline__ void attention_impl(const act_t* __restrict__ qkv, act_t* __restrict__ out,
            const int4* __restrict__ items, const unsigned char* __restrict__ keyMask,
            int heads, int maxLen, float scale) {
        constexpr int QPW = 4;
        constexpr int DPL = (D + 31) / 32;
        extern __shared__ float attention_smem[];
        const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
        const int4 item = items[blockIdx.x];
        const int head = blockIdx.y;
        const int seqStart = item.x, len = item.y;
        const int qFirst = item.z + warp * QPW, qEnd = item.z + item.w;
        if (qFirst >= qEnd) return;
        const int nq = min(QPW, qEnd - qFirst);
        float* qs = attention_smem + (long)warp * QPW * (maxLen + D);
        float* ps = qs + QPW * D;
        const int H = heads * D;
        const long ld = 3L * H;
        for (int e = lane; e < QPW * D; e += 32) {
            const int qi = e / D, d = e % D;
            qs[e] = qi < nq ? load_act(qkv, (long)(qFirst + qi) * ld + (long)head * D + d) * scale : 0.f;
        }
        __syncwarp();
        float mx[QPW];
        #pragma unroll
        for (int q = 0; q < QPW; ++q) mx[q] = NEG_INF;
        for (int j = lane; j < len; j += 32) {
            const act_t* k = qkv + (long)(seqStart + j) * ld + H + (long)head * D;
            float s[QPW];
            #pragma unroll
            for (int q = 0; q < QPW; ++q) s[q] = 0.f;
            #pragma unroll
            for (int d = 0; d < D; d += 8) {
                float kv[8];
                load_act8(k + d, kv);
                #pragma unroll
                for (int q = 0; q < QPW; ++q) {
                    #pragma unroll
                    for (int t = 0; t < 8; ++t) s[q] += qs[q * D + d + t] * kv[t];
                }
            }
            const bool masked = keyMask != 0 && keyMask[seqStart + j] == 0;
            #pragma unroll
            for (int q = 0; q < QPW; ++q) {
                const float v = masked ? NEG_INF : s[q];
                ps[q * maxLen + j] = v;
                mx[q] = fmaxf(mx[q], v);
            }
        }
        float sum[QPW];
        #pragma unroll
        for (int q = 0; q < QPW; ++q) { mx[q] = warp_max(mx[q]); sum[q] = 0.f; }
        for (int j = lane; j < len; j += 32) {
            #pragma unroll
            for (int q = 0; q < QPW; ++q) {
                const float v = ps[q * maxLen + j];
                const float e = mx[q] == NEG_INF ? 1.f : (v == NEG_INF ? 0.f : expf(v - mx[q]));
                ps[q * maxLen + j] = e;
                sum[q] += e;
            }
        }
        #pragma unroll
        for (int q = 0; q < QPW; ++q) sum[q] = warp_sum(sum[q]);
        __syncwarp();
        float acc[QPW][DPL];
        #pragma unroll
        for (int q = 0; q < QPW; ++q) {
            #pragma unroll
            for (int t = 0; t < DPL; ++t) acc[q][t] = 0.f;
        }
        const act_t* vbase = qkv + 2L * H + (long)head * D;
        for (int j = 0; j < len; ++j) {
            const act_t* v = vbase + (long)(seqStart + j) * ld;
            float vv[DPL];
            #pragma unroll
            for (int t = 0; t < DPL; ++t) { const int d = lane + 32 * t; vv[t] = d < D ? load_act(v, d) : 0.f; }
            #pragma unroll
            for (int q = 0; q < QPW; ++q) {
                const float p = ps[q * maxLen + j];
                #pragma unroll
                for (int t = 0; t < DPL; ++t) acc[q][t] += p * vv[t];
            }
        }
        #pragma unroll
        for (int q = 0; q < QPW; ++q) {
            if (q < nq) {
                const float inv = 1.f / sum[q];
                #pragma unroll
                for (int t = 0; t < DPL; ++t) {
                    const int d = lane + 32 * t;
                    if (d < D) store_act(out, (long)(qFirst + q) * H + (long)head * D + d, acc[q][t] * inv);
                }
            }
        }
    }
    #define UNINLU_ATTENTION(D) \
    extern "C" __global__ void __launch_bounds__(128) attention_d##D(const act_t* qkv, act_t* out, const int4* items, \
            const unsigned char* keyMask, int heads, int maxLen, float scale) { \
        attention_impl<D>(qkv, out, items, keyMask, heads, maxLen, scale); }
    UNINLU_ATTENTION(16)
    UNINLU_ATTENTION(32)
    UNINLU_ATTENTION(64)
    UNINLU_ATTENTION(128)

    // Tensor-core variant (FP16, head size 64), FlashAttention-2 style: a warp owns 16 queries of one
    // sequence; keys stream in blocks of 16 (global loads, L1-shared by the block's 4 warps);
    // S = Q·Kᵀ and O += P·V with mma.sync m16n8k16 (FP16 operands, FP32 accumulators); online
    // softmax in FP32; P re-packed from the S accumulators as the A operand.
    // S = Q·Kᵀ and O += P·V with mma.sync m16n8k16 (FP16 in, FP32 accumulate); online softmax in FP32.
    // The sum of a row's value over the 4 threads of its mma quad (lanes 4g .. 4g+3).
    __device__ __forceinline__ float quad_sum(float x) {
        x = x + __shfl_xor_sync(0xffffffffu, x, 1);
        return x + __shfl_xor_sync(0xffffffffu, x, 2);
    }
    // One key tile's scores of a warp's 16 rows, NT accumulators of 8 keys: the columns this thread
    // holds (keys kb + nt*8 + t*2 + e) that lie past the sequence or are masked become -inf, and
    // bm0 / bm1 return the tile's maxima of rows g and g + 8 over the quad.
    template <int NT>
    __device__ __forceinline__ void mask_tile_row_max(float (&s)[NT][4], int kb, int len, const unsigned char* __restrict__ keyMask,
            int seqStart, int t, float& bm0, float& bm1) {
        bm0 = NEG_INF; bm1 = NEG_INF;
        #pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
            #pragma unroll
            for (int e = 0; e < 2; ++e) {
                const int key = kb + nt * 8 + t * 2 + e;
                const bool ok = key < len && (keyMask == 0 || keyMask[seqStart + key] != 0);
                if (!ok) { s[nt][e] = NEG_INF; s[nt][2 + e] = NEG_INF; }
                bm0 = fmaxf(bm0, s[nt][e]);
                bm1 = fmaxf(bm1, s[nt][2 + e]);
            }
        }
        bm0 = fmaxf(bm0, __shfl_xor_sync(0xffffffffu, bm0, 1)); bm0 = fmaxf(bm0, __shfl_xor_sync(0xffffffffu, bm0, 2));
        bm1 = fmaxf(bm1, __shfl_xor_sync(0xffffffffu, bm1, 1)); bm1 = fmaxf(bm1, __shfl_xor_sync(0xffffffffu, bm1, 2));
    }
    // The end of every per-warp tensor-core attention kernel: a warp's 16 output rows (q0 + g and
    // q0 + g + 8 of this lane, dims n*8 + t*2 + (0, 1)) divided by their quad-summed softmax sums.
    // A sequence whose keys are all masked (anyKey false) gets uniform weights over its len keys, as
    // upstream's finfo.min bias gives. Rows at or past qEnd are not written.
    __device__ __forceinline__ void attention_tc_store_rows(uninlu_f16* __restrict__ out, const uninlu_f16* __restrict__ qkv,
            float (&o)[8][4], float l0, float l1, bool anyKey, int seqStart, int len, int q0, int qEnd, long ld, int H, int head,
            int g, int t) {
        if (!anyKey) {
            #pragma unroll
            for (int n = 0; n < 8; ++n) { o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f; }
            for (int j = 0; j < len; ++j) {
                const uninlu_f16* v = qkv + (long)(seqStart + j) * ld + 2L * H + (long)head * 64;
                #pragma unroll
                for (int n = 0; n < 8; ++n) {
                    const float a = f16_to_f32(v[n * 8 + t * 2]), b = f16_to_f32(v[n * 8 + t * 2 + 1]);
                    o[n][0] += a; o[n][1] += b; o[n][2] += a; o[n][3] += b;
                }
            }
            l0 = (float)len; l1 = (float)len;
        }
        const float inv0 = 1.f / l0, inv1 = 1.f / l1;
        const int row0 = q0 + g, row1 = q0 + g + 8;
        #pragma unroll
        for (int n = 0; n < 8; ++n) {
            const int d = n * 8 + t * 2;
            if (row0 < qEnd) *reinterpret_cast<unsigned int*>(out + (long)row0 * H + (long)head * 64 + d) = pack_f16x2(o[n][0] * inv0, o[n][1] * inv0);
            if (row1 < qEnd) *reinterpret_cast<unsigned int*>(out + (long)row1 * H + (long)head * 64 + d) = pack_f16x2(o[n][2] * inv1, o[n][3] * inv1);
        }
    }
    extern "C" __global__ void __launch_bounds__(128) attention_mma_d64(const uninlu_f16* __restrict__ qkv, uninlu_f16* __restrict__ out,
            const int4* __restrict__ items, const unsigned char* __restrict__ keyMask, int heads, int maxLen, float scale) {
        const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
        const int4 item = items[blockIdx.x];
        const int head = blockIdx.y;
        const int seqStart = item.x, len = item.y;
        const int q0 = item.z + warp * 16;
        const int qEnd = item.z + item.w;
        if (q0 >= qEnd) return;
        const int H = heads * 64;
        const long ld = 3L * H;
        const int g = lane >> 2, t = lane & 3;   // group row, thread-in-group
        // Q fragments (A operand, 4 k-steps over 64 dims), pre-scaled by `scale`.
        unsigned int qa[4][4];
        const int r0 = min(q0 + g, qEnd - 1), r1 = min(q0 + g + 8, qEnd - 1);
        const uninlu_f16* qrow0 = qkv + (long)r0 * ld + (long)head * 64;
        const uninlu_f16* qrow1 = qkv + (long)r1 * ld + (long)head * 64;
        #pragma unroll
        for (int ks = 0; ks < 4; ++ks) {
            const int c = ks * 16 + t * 2;
            qa[ks][0] = pack_f16x2(f16_to_f32(qrow0[c]) * scale, f16_to_f32(qrow0[c + 1]) * scale);
            qa[ks][1] = pack_f16x2(f16_to_f32(qrow1[c]) * scale, f16_to_f32(qrow1[c + 1]) * scale);
            qa[ks][2] = pack_f16x2(f16_to_f32(qrow0[c + 8]) * scale, f16_to_f32(qrow0[c + 9]) * scale);
            qa[ks][3] = pack_f16x2(f16_to_f32(qrow1[c + 8]) * scale, f16_to_f32(qrow1[c + 9]) * scale);
        }
        float o[8][4];
        #pragma unroll
        for (int n = 0; n < 8; ++n) { o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f; }
        float m0 = NEG_INF, m1 = NEG_INF, l0 = 0.f, l1 = 0.f;
        bool anyKey = false;
        for (int kb = 0; kb < len; kb += 16) {
            // S for 16 keys: two n-tiles of 8 keys.
            float s[2][4];
            #pragma unroll
            for (int nt = 0; nt < 2; ++nt) {
                s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f;
                const int key = kb + nt * 8 + g;                 // this thread's B column (key)
                const int keyRow = seqStart + min(key, len - 1);
                const unsigned int* krow = reinterpret_cast<const unsigned int*>(qkv + (long)keyRow * ld + H + (long)head * 64);
                #pragma unroll
                for (int ks = 0; ks < 4; ++ks) {
                    const unsigned int b0 = krow[(ks * 16 + t * 2) >> 1];
                    const unsigned int b1 = krow[(ks * 16 + t * 2 + 8) >> 1];
                    mma_16816(s[nt], qa[ks], b0, b1);
                }
            }
            float bm0, bm1;
            mask_tile_row_max<2>(s, kb, len, keyMask, seqStart, t, bm0, bm1);
            if (bm0 != NEG_INF) anyKey = true;   // same for every row of the sequence (mask is per key)
            const float n0 = fmaxf(m0, bm0), n1 = fmaxf(m1, bm1);
            const float c0 = (n0 == NEG_INF) ? 1.f : expf(m0 - n0);
            const float c1 = (n1 == NEG_INF) ? 1.f : expf(m1 - n1);
            m0 = n0; m1 = n1;
            float p[2][4];
            float ps0 = 0.f, ps1 = 0.f;
            #pragma unroll
            for (int nt = 0; nt < 2; ++nt) {
                #pragma unroll
                for (int e = 0; e < 2; ++e) {
                    p[nt][e] = s[nt][e] == NEG_INF ? 0.f : expf(s[nt][e] - m0);
                    p[nt][2 + e] = s[nt][2 + e] == NEG_INF ? 0.f : expf(s[nt][2 + e] - m1);
                    ps0 += p[nt][e];
                    ps1 += p[nt][2 + e];
                }
            }
            l0 = l0 * c0 + ps0;
            l1 = l1 * c1 + ps1;
            #pragma unroll
            for (int n = 0; n < 8; ++n) { o[n][0] *= c0; o[n][1] *= c0; o[n][2] *= c1; o[n][3] *= c1; }
            // P as the A operand of P·V (16 queries x 16 keys).
            unsigned int pa[4];
            pa[0] = pack_f16x2(p[0][0], p[0][1]);
            pa[1] = pack_f16x2(p[0][2], p[0][3]);
            pa[2] = pack_f16x2(p[1][0], p[1][1]);
            pa[3] = pack_f16x2(p[1][2], p[1][3]);
            // V as the B operand: B[k = key][n = dim]; this thread needs keys t*2+(0,1) and t*2+8+(0,1) at dim n*8+g.
            const int k0 = kb + t * 2, k8 = kb + t * 2 + 8;
            const uninlu_f16* v00 = qkv + (long)(seqStart + min(k0, len - 1)) * ld + 2L * H + (long)head * 64;
            const uninlu_f16* v01 = qkv + (long)(seqStart + min(k0 + 1, len - 1)) * ld + 2L * H + (long)head * 64;
            const uninlu_f16* v10 = qkv + (long)(seqStart + min(k8, len - 1)) * ld + 2L * H + (long)head * 64;
            const uninlu_f16* v11 = qkv + (long)(seqStart + min(k8 + 1, len - 1)) * ld + 2L * H + (long)head * 64;
            #pragma unroll
            for (int n = 0; n < 8; ++n) {
                const int d = n * 8 + g;
                const unsigned int b0 = (unsigned int)v00[d] | ((unsigned int)v01[d] << 16);
                const unsigned int b1 = (unsigned int)v10[d] | ((unsigned int)v11[d] << 16);
                mma_16816(o[n], pa, b0, b1);
            }
        }
        // Normalise (a sequence whose keys are all masked gets uniform weights, as the reference does).
        attention_tc_store_rows(out, qkv, o, quad_sum(l0), quad_sum(l1), anyKey, seqStart, len, q0, qEnd, ld, H, head, g, t);
    }


    // The same with K and V staged per warp in shared memory (16-byte coalesced loads, rows padded
    // to 144 bytes) and the mma operands read with ldmatrix (.trans for V): the default.
    // (The mma, ldmatrix and cp.async helpers are in TensorCorePrelude.swift.)
    // A 4-warp block stages keys kb..kb+15 of one head (K into ks, V into vs, rows of 72 halves) by
    // cp.async: 256 16-byte chunks, 2 a thread, one commit group. Both wide attention kernels use it.
    __device__ __forceinline__ void stage_kv_tile_async(uninlu_f16* ks, uninlu_f16* vs, const uninlu_f16* __restrict__ qkv,
            int seqStart, int len, int kb, long ld, int H, int head) {
        const int c = threadIdx.x, row = c >> 3, col = (c & 7) * 8;
        const long src = (long)(seqStart + min(kb + row, len - 1)) * ld + (long)head * 64 + col;
        cp_async16(ks + row * 72 + col, qkv + src + H);
        cp_async16(vs + row * 72 + col, qkv + src + 2L * H);
        cp_async_commit();
    }
    // One warp stages keys kb..kb+15 of one head for itself (same layout), through registers: 128
    // 16-byte chunks each of K and V, 4 a lane, between two __syncwarp (the warp's last reads of the
    // previous tile, then its stores). The per-warp attention kernels use it.
    __device__ __forceinline__ void stage_kv_tile_warp(uninlu_f16* ks, uninlu_f16* vs, const uninlu_f16* __restrict__ qkv,
            int seqStart, int len, int kb, long ld, int H, int head) {
        const int lane = threadIdx.x & 31;
        __syncwarp();
        #pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int chunk = lane + 32 * i;
            const int row = chunk >> 3, col = (chunk & 7) * 8;
            const long src = (long)(seqStart + min(kb + row, len - 1)) * ld + (long)head * 64 + col;
            *reinterpret_cast<uint4*>(ks + row * 72 + col) = *reinterpret_cast<const uint4*>(qkv + src + H);
            *reinterpret_cast<uint4*>(vs + row * 72 + col) = *reinterpret_cast<const uint4*>(qkv + src + 2L * H);
        }
        __syncwarp();
    }
    // SPLIT = 4 (small batches): the block's 4 warps share one item's 16 queries and take every 4th
    // 16-key tile each; their partial (max, sum, P·V) rows meet in shared memory (each warp's own
    // K/V tile space, free after its key loop) and are merged as split-softmax partials. At 1x128 a
    // warp walking all 8 tiles alone took 18 µs (ncu, H200): the loads of each tile wait on the last.
    // SHARED (4-warp blocks of 64 queries, wide batches): the block's warps walk the same keys, so each
    // K/V tile is staged once for all 4, by cp.async into one of two buffers while the other is
    // computed (`tiles` = the two buffers). The per-warp form waited on every tile's loads (ncu, H200:
    // 107 us a layer at 128x128).
    template <int SPLIT, bool SHARED>
    __device__ __forceinline__ void attention_tc_impl(const uninlu_f16* __restrict__ qkv, uninlu_f16* __restrict__ out,
            const int4* __restrict__ items, const unsigned char* __restrict__ keyMask, int heads, float scale, uninlu_f16 (*tiles)[2][16 * 72]) {
        static_assert(SPLIT == 1 || SPLIT == 4, "the merge gives each of 4 warps 4 of the 16 rows");
        static_assert(!SHARED || SPLIT == 1, "shared tiles: every warp walks every key tile");
        constexpr int ROW = 72;  // padded row (halves): 144-byte rows keep ldmatrix conflict-free
        const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
        const int4 item = items[blockIdx.x];
        const int head = blockIdx.y;
        const int seqStart = item.x, len = item.y;
        const int q0 = item.z + (SPLIT > 1 ? 0 : warp * 16);
        const int qEnd = item.z + item.w;
        // Uniform across the block when SPLIT > 1 (before its __syncthreads). SHARED: a warp without
        // queries still stages its share of every tile and meets the block's barriers.
        if (!SHARED && q0 >= qEnd) return;
        const bool active = q0 < qEnd;
        const int H = heads * 64;
        const long ld = 3L * H;
        const int g = lane >> 2, t = lane & 3;
        uninlu_f16* ks = tiles[SHARED ? 0 : warp][0];
        uninlu_f16* vs = tiles[SHARED ? 0 : warp][1];
        if (SHARED) stage_kv_tile_async(tiles[0][0], tiles[0][1], qkv, seqStart, len, 0, ld, H, head);
        unsigned int qa[4][4];
        const int r0 = min(q0 + g, qEnd - 1), r1 = min(q0 + g + 8, qEnd - 1);
        const uninlu_f16* qrow0 = qkv + (long)r0 * ld + (long)head * 64;
        const uninlu_f16* qrow1 = qkv + (long)r1 * ld + (long)head * 64;
        #pragma unroll
        for (int kk = 0; kk < 4; ++kk) {
            const int c = kk * 16 + t * 2;
            qa[kk][0] = pack_f16x2(f16_to_f32(qrow0[c]) * scale, f16_to_f32(qrow0[c + 1]) * scale);
            qa[kk][1] = pack_f16x2(f16_to_f32(qrow1[c]) * scale, f16_to_f32(qrow1[c + 1]) * scale);
            qa[kk][2] = pack_f16x2(f16_to_f32(qrow0[c + 8]) * scale, f16_to_f32(qrow0[c + 9]) * scale);
            qa[kk][3] = pack_f16x2(f16_to_f32(qrow1[c + 8]) * scale, f16_to_f32(qrow1[c + 9]) * scale);
        }
        float o[8][4];
        #pragma unroll
        for (int n = 0; n < 8; ++n) { o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f; }
        float m0 = NEG_INF, m1 = NEG_INF, l0 = 0.f, l1 = 0.f;
        bool anyKey = false;
        // ldmatrix row addresses of this lane (matrix = lane / 8, row = lane % 8).
        const int mi = lane >> 3, mr = lane & 7;
        for (int kb = (SPLIT > 1 ? warp * 16 : 0), it = 0; kb < len; kb += 16 * SPLIT, ++it) {
            if (SHARED) {
                cp_async_wait_all();   // this thread's copies of tile `it`
                __syncthreads();       // everyone's copies landed; everyone is done with tile it - 1
                if (kb + 16 < len) stage_kv_tile_async(tiles[(it + 1) & 1][0], tiles[(it + 1) & 1][1], qkv, seqStart, len, kb + 16, ld, H, head);
                ks = tiles[it & 1][0];
                vs = tiles[it & 1][1];
                if (!active) continue;
            } else {
                stage_kv_tile_warp(ks, vs, qkv, seqStart, len, kb, ld, H, head);
            }
            float s[2][4];
            #pragma unroll
            for (int nt = 0; nt < 2; ++nt) { s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f; }
            #pragma unroll
            for (int kk = 0; kk < 4; ++kk) {
                // matrices: (keys 0-7, dims kk*16..+7), (keys 0-7, +8..+15), (keys 8-15, kk*16..), (keys 8-15, +8..)
                unsigned int b0, b1, b2, b3;
                ldmatrix_x4(b0, b1, b2, b3, ks + ((mi >> 1) * 8 + mr) * ROW + kk * 16 + (mi & 1) * 8);
                mma_16816(s[0], qa[kk], b0, b1);
                mma_16816(s[1], qa[kk], b2, b3);
            }
            float bm0, bm1;
            mask_tile_row_max<2>(s, kb, len, keyMask, seqStart, t, bm0, bm1);
            if (bm0 != NEG_INF) anyKey = true;
            const float n0 = fmaxf(m0, bm0), n1 = fmaxf(m1, bm1);
            const float c0 = (n0 == NEG_INF) ? 1.f : expf(m0 - n0);
            const float c1 = (n1 == NEG_INF) ? 1.f : expf(m1 - n1);
            m0 = n0; m1 = n1;
            float p[2][4];
            float ps0 = 0.f, ps1 = 0.f;
            #pragma unroll
            for (int nt = 0; nt < 2; ++nt) {
                #pragma unroll
                for (int e = 0; e < 2; ++e) {
                    p[nt][e] = s[nt][e] == NEG_INF ? 0.f : expf(s[nt][e] - m0);
                    p[nt][2 + e] = s[nt][2 + e] == NEG_INF ? 0.f : expf(s[nt][2 + e] - m1);
                    ps0 += p[nt][e];
                    ps1 += p[nt][2 + e];
                }
            }
            l0 = l0 * c0 + ps0;
            l1 = l1 * c1 + ps1;
            #pragma unroll
            for (int n = 0; n < 8; ++n) { o[n][0] *= c0; o[n][1] *= c0; o[n][2] *= c1; o[n][3] *= c1; }
            unsigned int pa[4];
            pa[0] = pack_f16x2(p[0][0], p[0][1]);
            pa[1] = pack_f16x2(p[0][2], p[0][3]);
            pa[2] = pack_f16x2(p[1][0], p[1][1]);
            pa[3] = pack_f16x2(p[1][2], p[1][3]);
            #pragma unroll
            for (int n = 0; n < 8; n += 2) {
                // matrices: (keys 0-7, dims n*8..), (keys 8-15, n*8..), (keys 0-7, (n+1)*8..), (keys 8-15, (n+1)*8..)
                unsigned int b0, b1, b2, b3;
                ldmatrix_x4_trans(b0, b1, b2, b3, vs + ((mi & 1) * 8 + mr) * ROW + (n + (mi >> 1)) * 8);
                mma_16816(o[n], pa, b0, b1);
                mma_16816(o[n + 1], pa, b2, b3);
            }
        }
        if (SHARED && !active) return;   // past the last barrier
        l0 = quad_sum(l0);
        l1 = quad_sum(l1);
        if (SPLIT > 1) {
            // Each warp's partials go to its own K/V tile space (4,608 bytes, 1,152 floats apart).
            __syncwarp();
            split_store_partials(reinterpret_cast<float*>(&tiles[warp][0][0]), o, m0, m1, l0, l1);
            __syncthreads();
            // Warp w merges rows 4w..4w+3: lanes over (row, pair of dims).
            for (int e = lane; e < 4 * 32; e += 32) {
                const int r = warp * 4 + e / 32, d = (e % 32) * 2;
                const int row = q0 + r;
                if (row >= qEnd) continue;
                float a0, a1;
                float L = split_merge_row(reinterpret_cast<const float*>(&tiles[0][0][0]), 2 * 16 * 72 / 2, SPLIT, r, d, a0, a1);
                if (L == 0.f) {
                    // Every key masked: the uniform average of V over the sequence, as below.
                    for (int j = 0; j < len; ++j) {
                        const uninlu_f16* v = qkv + (long)(seqStart + j) * ld + 2L * H + (long)head * 64;
                        a0 += f16_to_f32(v[d]); a1 += f16_to_f32(v[d + 1]);
                    }
                    L = (float)len;
                }
                const float inv = 1.f / L;
                *reinterpret_cast<unsigned int*>(out + (long)row * H + (long)head * 64 + d) = pack_f16x2(a0 * inv, a1 * inv);
            }
            return;
        }
        attention_tc_store_rows(out, qkv, o, l0, l1, anyKey, seqStart, len, q0, qEnd, ld, H, head, g, t);
    }
    extern "C" __global__ void __launch_bounds__(128) attention_tc_d64(const uninlu_f16* __restrict__ qkv, uninlu_f16* __restrict__ out,
            const int4* __restrict__ items, const unsigned char* __restrict__ keyMask, int heads, int maxLen, float scale) {
        __shared__ __align__(16) uninlu_f16 tiles[4][2][16 * 72];
        attention_tc_impl<1, false>(qkv, out, items, keyMask, heads, scale, tiles);
    }
    extern "C" __global__ void __launch_bounds__(128) attention_tc_shared_d64(const uninlu_f16* __restrict__ qkv, uninlu_f16* __restrict__ out,
            const int4* __restrict__ items, const unsigned char* __restrict__ keyMask, int heads, int maxLen, float scale) {
        __shared__ __align__(16) uninlu_f16 tiles[2][2][16 * 72];   // two buffers of (K, V)
        attention_tc_impl<1, true>(qkv, out, items, keyMask, heads, scale, tiles);
    }
    extern "C" __global__ void __launch_bounds__(128) attention_tc_split_d64(const uninlu_f16* __restrict__ qkv, uninlu_f16* __restrict__ out,
            const int4* __restrict__ items, const unsigned char* __restrict__ keyMask, int heads, int maxLen, float scale) {
        __shared__ __align__(16) uninlu_f16 tiles[4][2][16 * 72];
        attention_tc_impl<4, false>(qkv, out, items, keyMask, heads, scale, tiles);
    }

    """#
    static let headSizes = [16, 32, 64, 128]
    static var names: [String] { headSizes.map { "attention_d\($0)" } + ["attention_mma_d64", "attention_tc_d64", "attention_tc_shared_d64", "attention_tc_split_d64"] }
    /// Queries per block of the tensor-core kernel (4 warps × 16).
    static let tensorCoreQueriesPerBlock = 64
    static let queriesPerWarp = 4
    static let warpsPerBlock = 4
    static var queriesPerBlock: Int { queriesPerWarp * warpsPerBlock }
    static func sharedBytes(maxLength: Int, headSize: Int) -> Int {
        warpsPerBlock * queriesPerWarp * (maxLength + headSize) * 4
    }
}

/// Op entry: builds the work items (≤16 queries of one sequence each) and the key mask, launches
/// `attention_d{headSize}` over (items × heads).
enum AttentionOp {
    static func run(_ k: CUDAKernels, qkv: CUDAMatrix, sequences: PackedSequences, heads: Int, headSize: Int) throws -> CUDAMatrix {
        let hidden = heads * headSize
        guard qkv.columns == 3 * hidden, qkv.rows == sequences.totalRows else {
            throw CUDAError.shapeMismatch(op: "attention", detail: "qkv \(qkv.rows)x\(qkv.columns), \(sequences.totalRows) rows packed, \(heads)x\(headSize)")
        }
        guard AttentionKernel.headSizes.contains(headSize), hidden % 8 == 0 else {
            throw CUDAError.unsupported(op: "attention", detail: "head size \(headSize) (have \(AttentionKernel.headSizes)), hidden \(hidden) must be a multiple of 8")
        }
        let out = try k.makeMatrix(rows: qkv.rows, columns: hidden)
        // Every layer of a forward sees the same packing: stage its work items and mask once.
        let staged: AttentionLayout
        if let cached = k.attentionLayoutCache, cached.sequences == sequences {
            staged = cached
        } else {
            guard let layout = try makeLayout(k, sequences) else { return out }
            k.attentionLayoutCache = layout
            staged = layout
        }
        let shared = AttentionKernel.sharedBytes(maxLength: staged.maxLength, headSize: headSize)
        let limit = max(48 << 10, k.context.info.maxSharedMemoryPerBlockOptin)
        guard shared <= limit else {
            throw CUDAError.unsupported(op: "attention", detail: "sequence of \(staged.maxLength) tokens needs \(shared) bytes of shared memory (limit \(limit))")
        }
        let scale = 1 / Float(headSize).squareRoot()
        if k.precision == .fp16, headSize == 64, k.tensorCoreAttention {
            // 4 warps (64 queries) per block from `attentionWideItems` (by default always); else 16-query
            // items, each split over 4 warps by keys (one warp per item: UNINLU_ATTENTION=nosplit or mma).
            let choice = getenvString("UNINLU_ATTENTION")
            let wide = staged.tensorCoreItemCount * heads >= k.attentionWideItems
            let split = !wide && choice != "mma" && k.splitAttention
            // Wide: K/V tiles shared by the block's warps (UNINLU_ATTENTION=perwarp: each warp its own).
            let shared = wide && k.sharedTileAttention
            let name = choice == "mma" ? "attention_mma_d64" : split ? "attention_tc_split_d64"
                : shared ? (k.keyTile64Attention ? "attention_tc_k64_d64" : "attention_tc_shared_d64") : "attention_tc_d64"
            try k.context.launch(
                k.function(name), name: name, grid: (wide ? staged.tensorCoreItemCount : staged.itemCount, heads, 1),
                block: (wide || split ? 128 : 32, 1, 1),
                [.pointer(qkv.pointer), .pointer(out.pointer), .pointer(wide ? staged.tensorCoreItems.pointer : staged.items.pointer),
                 .pointer(staged.mask?.pointer ?? 0), .int32(Int32(heads)), .int32(Int32(staged.maxLength)), .float(scale)])
            return out
        }
        let name = "attention_d\(headSize)"
        try k.context.launch(
            k.function(name), name: name, grid: (staged.itemCount, heads, 1),
            block: (32 * AttentionKernel.warpsPerBlock, 1, 1), sharedBytes: shared,
            [.pointer(qkv.pointer), .pointer(out.pointer), .pointer(staged.items.pointer), .pointer(staged.mask?.pointer ?? 0),
             .int32(Int32(heads)), .int32(Int32(staged.maxLength)), .float(scale)])
        return out
    }

    /// Work items and key mask of one packing, staged on the device.
    final class AttentionLayout {
        let sequences: PackedSequences
        let items: DeviceBuffer
        let itemCount: Int
        let mask: DeviceBuffer?
        let maxLength: Int
        let tensorCoreItems: DeviceBuffer
        let tensorCoreItemCount: Int
        init(sequences: PackedSequences, items: DeviceBuffer, itemCount: Int, tensorCoreItems: DeviceBuffer, tensorCoreItemCount: Int,
             mask: DeviceBuffer?, maxLength: Int) {
            self.sequences = sequences
            self.items = items
            self.itemCount = itemCount
            self.tensorCoreItems = tensorCoreItems
            self.tensorCoreItemCount = tensorCoreItemCount
            self.mask = mask
            self.maxLength = maxLength
        }
    }

    /// Work items of `perBlock` queries of one sequence each: (sequence start, its length, first
    /// query, query count) as 4 × Int32, sequence by sequence (empty sequences give none).
    static func workItems(_ sequences: PackedSequences, perBlock: Int) -> [Int32] {
        var items: [Int32] = []
        for s in 0..<sequences.count {
            let start = sequences.offsets[s], length = sequences.length(of: s)
            var q = 0
            while q < length {
                let count = min(perBlock, length - q)
                for value in [start, length, start + q, count] { items.append(Int32(value)) }
                q += count
            }
        }
        return items
    }

    static func makeLayout(_ k: CUDAKernels, _ sequences: PackedSequences) throws -> AttentionLayout? {
        let maxLength = sequences.maxLength
        let items = workItems(sequences, perBlock: AttentionKernel.queriesPerBlock)
        guard !items.isEmpty else { return nil }
        let tensorCore = workItems(sequences, perBlock: AttentionKernel.tensorCoreQueriesPerBlock)
        return AttentionLayout(sequences: sequences, items: try k.stageInt32(items), itemCount: items.count / 4,
                               tensorCoreItems: try k.stageInt32(tensorCore), tensorCoreItemCount: tensorCore.count / 4,
                               mask: try sequences.keyMask.map { try k.stageUInt8($0) }, maxLength: maxLength)
    }
}
