import UniNLUCore
// DeBERTa-v2 disentangled attention over packed sequences (RexUniNLU): per (query i, key j) of a
// sequence and a head, s = (q_i·k_j + q_i·Kr[δ] + k_j·Qr[δ]) / sqrt(3d) with δ = relativeIndex(i, j)
// (built on the device by relative_index_build from the position ids and the per-distance table,
// raw or log-bucketed: the attention kernels only gather), the 2-D mask, a masked softmax with
// FP32 statistics (an all-masked row gives zeros, as upstream XSoftmax), then P·v. FP32 scores and
// accumulators; activations FP16 or FP32. Layout as the FMA attention kernel: 4 warps a block, each
// warp up to 4 queries of one sequence and head, lanes split the keys, then the head dimensions.

enum DisentangledAttentionKernel {
    static let source = #"""
    template <int D>
    __device__ __forceinline__ void disentangled_attention_impl(const act_t* __restrict__ qkv, const act_t* __restrict__ rel,
            act_t* __restrict__ out, const int4* __restrict__ items, const unsigned char* __restrict__ mask,
            const int* __restrict__ relIndex, int heads, int relColumns, int maxLen, float scale) {
        constexpr int QPW = 4;
        constexpr int DPL = (D + 31) / 32;
        extern __shared__ float dattn_smem[];
        const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
        const int4 item = items[2 * blockIdx.x];
        const int base = items[2 * blockIdx.x + 1].x;   // start of this sequence's n*n block in mask/relIndex
        const int head = blockIdx.y;
        const int seqStart = item.x, len = item.y;
        const int qFirst = item.z + warp * QPW, qEnd = item.z + item.w;
        if (qFirst >= qEnd) return;
        const int nq = min(QPW, qEnd - qFirst);
        float* qs = dattn_smem + (long)warp * QPW * (maxLen + D);
        float* ps = qs + QPW * D;
        const int H = heads * D;
        const long ld = 3L * H;
        for (int e = lane; e < QPW * D; e += 32) {
            const int qi = e / D, d = e % D;
            qs[e] = qi < nq ? load_act(qkv, (long)(qFirst + qi) * ld + (long)head * D + d) : 0.f;
        }
        __syncwarp();
        float mx[QPW];
        #pragma unroll
        for (int q = 0; q < QPW; ++q) mx[q] = NEG_INF;
        for (int j = lane; j < len; j += 32) {
            const act_t* k = qkv + (long)(seqStart + j) * ld + H + (long)head * D;
            float kv[D];
            #pragma unroll
            for (int d = 0; d < D; d += 8) load_act8(k + d, kv + d);
            #pragma unroll
            for (int q = 0; q < QPW; ++q) {
                float v = NEG_INF;
                if (q < nq) {
                    const long pair = (long)base + (long)(qFirst + q - seqStart) * len + j;
                    if (mask[pair] != 0) {
                        const long r = relIndex[pair];
                        const act_t* qr = rel + r * relColumns + (long)head * D;
                        const act_t* kr = qr + H;
                        float s = 0.f;
                        #pragma unroll
                        for (int d = 0; d < D; d += 8) {
                            float qrv[8], krv[8];
                            load_act8(qr + d, qrv);
                            load_act8(kr + d, krv);
                            #pragma unroll
                            for (int t = 0; t < 8; ++t) s += qs[q * D + d + t] * (kv[d + t] + krv[t]) + kv[d + t] * qrv[t];
                        }
                        v = s * scale;
                    }
                }
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
                const float e = (v == NEG_INF) ? 0.f : expf(v - mx[q]);
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
                // Every key masked: sum is 0 and the row is zeros (XSoftmax), never NaN.
                const float inv = sum[q] > 0.f ? 1.f / sum[q] : 0.f;
                #pragma unroll
                for (int t = 0; t < DPL; ++t) {
                    const int d = lane + 32 * t;
                    if (d < D) store_act(out, (long)(qFirst + q) * H + (long)head * D + d, acc[q][t] * inv);
                }
            }
        }
    }
    #define UNINLU_DISENTANGLED_ATTENTION(D) \
    extern "C" __global__ void __launch_bounds__(128) disentangled_attention_d##D(const act_t* qkv, const act_t* rel, act_t* out, \
            const int4* items, const unsigned char* mask, const int* relIndex, int heads, int relColumns, int maxLen, float scale) { \
        disentangled_attention_impl<D>(qkv, rel, out, items, mask, relIndex, heads, relColumns, maxLen, scale); }
    UNINLU_DISENTANGLED_ATTENTION(16)
    UNINLU_DISENTANGLED_ATTENTION(32)
    UNINLU_DISENTANGLED_ATTENTION(64)
    UNINLU_DISENTANGLED_ATTENTION(128)
    // Helpers of the tensor-core kernel below (the wide form's one-tile-ahead fetches use them).
    // This lane's 8 relative indices of the 16-key tile at kb (δ = -1: masked, or past the sequence).
    __device__ __forceinline__ void datt_load_deltas(int (&delta)[2][4], const int* __restrict__ relIndex, int kb, int len, int t,
            bool row0Valid, bool row1Valid, long pairRow0, long pairRow1) {
        #pragma unroll
        for (int nt = 0; nt < 2; ++nt) {
            #pragma unroll
            for (int e = 0; e < 2; ++e) {
                const int key = kb + nt * 8 + t * 2 + e;
                int d0 = -1, d1 = -1;
                if (key < len) {
                    if (row0Valid) d0 = relIndex[pairRow0 + key];
                    if (row1Valid) d1 = relIndex[pairRow1 + key];
                }
                delta[nt][e] = d0; delta[nt][2 + e] = d1;
            }
        }
    }
    // The warp's window [lo, hi] over its 8 pairs a lane (δ = -1: masked or out of range).
    __device__ __forceinline__ void datt_window(const int (&delta)[2][4], int& lo, int& hi) {
        lo = 0x7fffffff; hi = -1;
        #pragma unroll
        for (int nt = 0; nt < 2; ++nt) {
            #pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int d = delta[nt][e];
                if (d >= 0) { lo = min(lo, d); hi = max(hi, d); }
            }
        }
        #pragma unroll
        for (int off = 16; off > 0; off >>= 1) {
            lo = min(lo, __shfl_xor_sync(0xffffffffu, lo, off));
            hi = max(hi, __shfl_xor_sync(0xffffffffu, hi, off));
        }
    }
    // A 16-byte copy that also fills L1 (.ca): the 4 warps of a block stage overlapping windows of the
    // same relative rows, which L1 serves after the first (cp.async.cg, L2 only, measured 329 against
    // 282 µs a layer at 8x512 for the synchronous staging, L1 hit rate 12% against 25%; ncu, H200).
    __device__ __forceinline__ void cp_async16_l1(void* smem, const void* gmem) {
        const unsigned int a = (unsigned int)__cvta_generic_to_shared(smem);
        asm volatile("cp.async.ca.shared.global [%0], [%1], 16;" :: "r"(a), "l"(gmem) : "memory");
    }
    // This thread's cp.async groups, all but the newest complete (groups complete in commit order).
    __device__ __forceinline__ void cp_async_wait_all_but_newest() { asm volatile("cp.async.wait_group 1;" ::: "memory"); }
    // Rows lo .. lo + 16*groups - 1 of this head's Qr and Kr (clamped to the table) into rq / rk by
    // cp.async, one commit group (empty when groups is 0); the same chunks the synchronous staging below copies.
    __device__ __forceinline__ void datt_stage_rel_rows_async(uninlu_f16* rq, uninlu_f16* rk, const uninlu_f16* __restrict__ rel,
            int lo, int groups, int relRows, int relColumns, int H, int head, int lane) {
        for (int c = lane; c < groups * 256; c += 32) {
            const int row = c >> 4, half = (c >> 3) & 1, col = (c & 7) * 8;
            const long src = (long)min(lo + row, relRows - 1) * relColumns + (long)half * H + (long)head * 64 + col;
            cp_async16_l1((half ? rk : rq) + row * 72 + col, rel + src);
        }
        cp_async_commit();
    }
    // Tensor-core variant (FP16, head size 64): a warp owns 16 queries of one sequence and head; keys
    // stream in blocks of 16. Per 16x16 tile: S = Q·Kᵀ by mma.sync m16n8k16 (Q pre-scaled by
    // 1/sqrt(3d)); the relative rows the tile's unmasked pairs touch, lo up to lo + 63, give
    // C2P = Q·Kr[lo..]ᵀ and P2C = K·Qr[lo..]ᵀ by mma into shared memory (FP32), gathered per pair at
    // δ - lo; a tile whose rows span more than 64 takes the FMA path for its gathered terms. Online
    // softmax in FP32 (all-masked rows give zeros), O += P·V by mma.
    // STAGED: K and V of each 16-key tile staged per warp in shared memory by 16-byte loads (rows padded
    // to 144 bytes), the mma operands read with ldmatrix (.trans for V), as attention_tc_d64 does.
    // SPLIT > 1 (small batches, unstaged only): the block's SPLIT warps share one item's 16 queries and
    // take every SPLIT-th 16-key tile each; their partial (max, sum, P·V) rows meet in shared memory
    // (the warps' table space, free after the key loop) and are merged as split-softmax partials.
    // RELSTAGED (with STAGED): the window's relative rows (Qr and Kr of this head, at most 32 rows) are
    // staged per warp in shared memory too, and read with ldmatrix, as is K for the P2C operand: the
    // kernel's L1 traffic was mostly those rows' 4-byte operand loads. The K/V tile is staged once
    // for the block's 4 warps (they walk the same keys), by cp.async into one of two buffers while
    // the other is computed (ks = the first buffer's K, V follows, then the second buffer), and the
    // tables are written as float2 with rows 40 floats apart (no bank conflicts).
    // SHAREDKV (wide batches): K/V tiles shared by the block as just said; without it (the split-key
    // small-batch form, SPLIT = 8) each warp stages its own 16-key tile and its window's relative rows,
    // so that a warp's one tile costs two round trips to memory, not one per operand row.
    // PIPE (with SHAREDKV): each tile's relative indices are loaded one tile ahead, and its window's
    // relative rows staged by cp.async while the tile before finishes (after its tables are built,
    // before its softmax and P·V), so that neither round trip to memory sits on the warp's path.
    // One buffer suffices: a tile's rows are consumed into its tables before the next tile's land.
    // The rows are waited for by their own warp only, not at the block barrier: an active thread
    // commits, per tile, one K/V group (empty after the last tile) then one row group (empty when the
    // window takes the direct path), so that at the barrier all but its newest group (the rows) must
    // be complete, and before the tables all but the newest (the next K/V tile).
    template <bool STAGED, int ROWS, int SPLIT, bool RELSTAGED, bool SHAREDKV, bool PIPE = false>
    __device__ __forceinline__ void datt_mma_impl(const uninlu_f16* __restrict__ qkv,
            const uninlu_f16* __restrict__ rel, uninlu_f16* __restrict__ out, const int4* __restrict__ items,
            const int* __restrict__ relIndex, int heads, int relColumns, int relRows, float scale,
            float* c2pTable, float* p2cTable, uninlu_f16* ks, uninlu_f16* vs, uninlu_f16* rq, uninlu_f16* rk, float* mergeBase,
            int mergeStride) {
        static_assert(SPLIT == 1 || (SPLIT == 4 && !STAGED) || (SPLIT == 8 && RELSTAGED && !SHAREDKV),
                      "split keys: 4 unstaged warps or 8 warps staging their own tiles");
        static_assert(!RELSTAGED || (STAGED && ROWS == 32), "staged relative rows: 32-row windows of the staged kernel");
        static_assert(!SHAREDKV || (RELSTAGED && SPLIT == 1), "block-shared K/V tiles: the wide staged kernel");
        static_assert(!PIPE || SHAREDKV, "prefetched relative rows: the wide staged kernel");
        constexpr int LDT = RELSTAGED ? 40 : ROWS + 1;
        constexpr int ROW = 72;
        const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
        const int4 item = items[2 * blockIdx.x];
        const int base = items[2 * blockIdx.x + 1].x;
        const int head = blockIdx.y;
        const int seqStart = item.x, len = item.y;
        const int q0 = item.z + (SPLIT > 1 ? 0 : warp * 16);
        const int qEnd = item.z + item.w;
        // Uniform across the block when SPLIT > 1 (before its __syncthreads). SHAREDKV: a warp without
        // queries still stages its share of each K/V tile (and meets the block's barriers).
        if (!SHAREDKV && q0 >= qEnd) return;
        const bool active = q0 < qEnd;
        const int H = heads * 64;
        const long ld = 3L * H;
        const int g = lane >> 2, t = lane & 3;
        const int mi = lane >> 3, mr = lane & 7;   // ldmatrix: matrix and row of this lane's address
        uninlu_f16* const kvBuffers = ks;   // SHAREDKV: buffer b's K at kvBuffers + b * 32 rows, its V 16 rows on
        if (SHAREDKV) stage_kv_tile_async(kvBuffers, kvBuffers + 16 * ROW, qkv, seqStart, len, 0, ld, H, head);
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
        const bool row0Valid = q0 + g < qEnd, row1Valid = q0 + g + 8 < qEnd;
        const long pairRow0 = (long)base + (long)(q0 + g - seqStart) * len;
        const long pairRow1 = (long)base + (long)(q0 + g + 8 - seqStart) * len;
        // PIPE: tile 0's indices and window now, its rows staged before the loop's first wait.
        int deltaNext[2][4];
        int loNext = 0x7fffffff, hiNext = -1;
        if (PIPE && active) {
            datt_load_deltas(deltaNext, relIndex, 0, len, t, row0Valid, row1Valid, pairRow0, pairRow1);
            datt_window(deltaNext, loNext, hiNext);
            datt_stage_rel_rows_async(rq, rk, rel, loNext, hiNext >= loNext && hiNext - loNext < ROWS ? (hiNext - loNext) / 16 + 1 : 0,
                                      relRows, relColumns, H, head, lane);
        }
        for (int kb = (SPLIT > 1 ? warp * 16 : 0), it = 0; kb < len; kb += 16 * SPLIT, ++it) {
            if (SHAREDKV) {
                // This thread's copies of K/V tile `it` (PIPE: its relative rows may still be landing).
                if (PIPE && active) cp_async_wait_all_but_newest(); else cp_async_wait_all();
                __syncthreads();       // everyone's copies landed; every warp is done with tile it - 1
                if (kb + 16 < len) {
                    uninlu_f16* next = kvBuffers + ((it + 1) & 1) * 2 * 16 * ROW;
                    stage_kv_tile_async(next, next + 16 * ROW, qkv, seqStart, len, kb + 16, ld, H, head);
                } else if (PIPE) {
                    cp_async_commit();   // an empty group keeps the count
                }
                ks = kvBuffers + (it & 1) * 2 * 16 * ROW;
                vs = ks + 16 * ROW;
                if (!active) continue;
            } else if (STAGED) {
                stage_kv_tile_warp(ks, vs, qkv, seqStart, len, kb, ld, H, head);
            }
            // This thread's 8 pairs: rows g (e) / g+8 (2+e), keys kb + nt*8 + t*2 + e. δ = -1: masked
            // (relative_index_build folds the 2-D mask in) or out of range.
            int delta[2][4];
            int lo, hi;
            if (PIPE) {
                // Loaded and staged one tile ahead; the next tile's indices load now, used after the tables.
                #pragma unroll
                for (int nt = 0; nt < 2; ++nt) {
                    #pragma unroll
                    for (int e = 0; e < 4; ++e) delta[nt][e] = deltaNext[nt][e];
                }
                lo = loNext; hi = hiNext;
                datt_load_deltas(deltaNext, relIndex, kb + 16, len, t, row0Valid, row1Valid, pairRow0, pairRow1);
            } else {
                datt_load_deltas(delta, relIndex, kb, len, t, row0Valid, row1Valid, pairRow0, pairRow1);
                datt_window(delta, lo, hi);
            }
            // S = Q·Kᵀ for the 16 keys (two n-tiles of 8).
            float s[2][4];
            #pragma unroll
            for (int nt = 0; nt < 2; ++nt) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f;
            if (STAGED) {
                #pragma unroll
                for (int kk = 0; kk < 4; ++kk) {
                    // matrices: (keys 0-7, dims kk*16..+7), (keys 0-7, +8..+15), (keys 8-15, kk*16..), (keys 8-15, +8..)
                    unsigned int b0, b1, b2, b3;
                    ldmatrix_x4(b0, b1, b2, b3, ks + ((mi >> 1) * 8 + mr) * ROW + kk * 16 + (mi & 1) * 8);
                    mma_16816(s[0], qa[kk], b0, b1);
                    mma_16816(s[1], qa[kk], b2, b3);
                }
            } else {
                #pragma unroll
                for (int nt = 0; nt < 2; ++nt) {
                    const int keyRow = seqStart + min(kb + nt * 8 + g, len - 1);
                    const unsigned int* krow = reinterpret_cast<const unsigned int*>(qkv + (long)keyRow * ld + H + (long)head * 64);
                    #pragma unroll
                    for (int kk = 0; kk < 4; ++kk) mma_16816(s[nt], qa[kk], krow[(kk * 16 + t * 2) >> 1], krow[(kk * 16 + t * 2 + 8) >> 1]);
                }
            }
            const bool tables = hi >= lo && hi - lo < ROWS;
            if (tables && RELSTAGED) {
                // Rows lo .. lo + 16*groups - 1 (clamped to the table): per row 8 chunks of Qr, 8 of Kr.
                const int groups = (hi - lo) / 16 + 1;
                if (PIPE) {
                    // Staged a tile ahead: all but the newest group (the next K/V tile) complete.
                    cp_async_wait_all_but_newest();
                    __syncwarp();
                } else {
                    __syncwarp();
                    for (int c = lane; c < groups * 256; c += 32) {
                        const int row = c >> 4, half = (c >> 3) & 1, col = (c & 7) * 8;
                        const long src = (long)min(lo + row, relRows - 1) * relColumns + (long)half * H + (long)head * 64 + col;
                        *reinterpret_cast<uint4*>((half ? rk : rq) + row * ROW + col) = *reinterpret_cast<const uint4*>(rel + src);
                    }
                    __syncwarp();
                }
                unsigned int ka[4][4];
                #pragma unroll
                for (int kk = 0; kk < 4; ++kk)   // K as the A operand: (keys 0-7 | 8-15) x (dims kk*16.. | +8..)
                    ldmatrix_x4(ka[kk][0], ka[kk][1], ka[kk][2], ka[kk][3], ks + ((mi & 1) * 8 + mr) * ROW + kk * 16 + (mi >> 1) * 8);
                for (int gr = 0; gr < groups; ++gr) {
                    float c2p[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}}, p2c[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
                    #pragma unroll
                    for (int kk = 0; kk < 4; ++kk) {
                        // matrices as for S: (rows 0-7, dims kk*16..), (rows 0-7, +8..), (rows 8-15, ..), (rows 8-15, +8..)
                        const int at = (gr * 16 + (mi >> 1) * 8 + mr) * ROW + kk * 16 + (mi & 1) * 8;
                        unsigned int b0, b1, b2, b3;
                        ldmatrix_x4(b0, b1, b2, b3, rk + at);
                        mma_16816(c2p[0], qa[kk], b0, b1);
                        mma_16816(c2p[1], qa[kk], b2, b3);
                        ldmatrix_x4(b0, b1, b2, b3, rq + at);
                        mma_16816(p2c[0], ka[kk], b0, b1);
                        mma_16816(p2c[1], ka[kk], b2, b3);
                    }
                    #pragma unroll
                    for (int h = 0; h < 2; ++h) {
                        const int col = gr * 16 + h * 8 + t * 2;
                        *reinterpret_cast<float2*>(c2pTable + g * LDT + col) = make_float2(c2p[h][0], c2p[h][1]);
                        *reinterpret_cast<float2*>(c2pTable + (g + 8) * LDT + col) = make_float2(c2p[h][2], c2p[h][3]);
                        *reinterpret_cast<float2*>(p2cTable + g * LDT + col) = make_float2(p2c[h][0] * scale, p2c[h][1] * scale);
                        *reinterpret_cast<float2*>(p2cTable + (g + 8) * LDT + col) = make_float2(p2c[h][2] * scale, p2c[h][3] * scale);
                    }
                }
                __syncwarp();
            } else if (tables) {
                __syncwarp();
                // K of the 16 keys as the A operand (rows = keys g, g+8).
                unsigned int ka[4][4];
                const unsigned int* kr0 = reinterpret_cast<const unsigned int*>(qkv + (long)(seqStart + min(kb + g, len - 1)) * ld + H + (long)head * 64);
                const unsigned int* kr1 = reinterpret_cast<const unsigned int*>(qkv + (long)(seqStart + min(kb + g + 8, len - 1)) * ld + H + (long)head * 64);
                #pragma unroll
                for (int kk = 0; kk < 4; ++kk) {
                    const int c = (kk * 16 + t * 2) >> 1;
                    ka[kk][0] = kr0[c]; ka[kk][1] = kr1[c]; ka[kk][2] = kr0[c + 4]; ka[kk][3] = kr1[c + 4];
                }
                const int tiles = (hi - lo) / 8 + 1;
                for (int nt = 0; nt < tiles; ++nt) {
                    const int relRow = min(lo + nt * 8 + g, relRows - 1);
                    const unsigned int* qr = reinterpret_cast<const unsigned int*>(rel + (long)relRow * relColumns + (long)head * 64);
                    const unsigned int* kr = reinterpret_cast<const unsigned int*>(rel + (long)relRow * relColumns + H + (long)head * 64);
                    float c2p[4] = {0.f, 0.f, 0.f, 0.f}, p2c[4] = {0.f, 0.f, 0.f, 0.f};
                    #pragma unroll
                    for (int kk = 0; kk < 4; ++kk) {
                        const int c = (kk * 16 + t * 2) >> 1;
                        mma_16816(c2p, qa[kk], kr[c], kr[c + 4]);
                        mma_16816(p2c, ka[kk], qr[c], qr[c + 4]);
                    }
                    const int col = nt * 8 + t * 2;
                    c2pTable[g * LDT + col] = c2p[0]; c2pTable[g * LDT + col + 1] = c2p[1];
                    c2pTable[(g + 8) * LDT + col] = c2p[2]; c2pTable[(g + 8) * LDT + col + 1] = c2p[3];
                    p2cTable[g * LDT + col] = p2c[0] * scale; p2cTable[g * LDT + col + 1] = p2c[1] * scale;
                    p2cTable[(g + 8) * LDT + col] = p2c[2] * scale; p2cTable[(g + 8) * LDT + col + 1] = p2c[3] * scale;
                }
                __syncwarp();
            }
            if (PIPE) {
                // This tile's rows are in its tables now: stage the next tile's window into the buffer
                // (an empty group after the last tile or for a direct-path window).
                datt_window(deltaNext, loNext, hiNext);
                const bool nextTables = kb + 16 < len && hiNext >= loNext && hiNext - loNext < ROWS;
                datt_stage_rel_rows_async(rq, rk, rel, loNext, nextTables ? (hiNext - loNext) / 16 + 1 : 0, relRows, relColumns, H, head, lane);
            }
            float bm0 = NEG_INF, bm1 = NEG_INF;
            #pragma unroll
            for (int nt = 0; nt < 2; ++nt) {
                #pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const int d = delta[nt][e];
                    if (d < 0) { s[nt][e] = NEG_INF; continue; }
                    const int qLocal = e < 2 ? g : g + 8;
                    const int kLocal = nt * 8 + t * 2 + (e & 1);
                    if (tables) {
                        s[nt][e] += c2pTable[qLocal * LDT + d - lo] + p2cTable[kLocal * LDT + d - lo];
                    } else {
                        // Rows too far apart for the tables: the gathered terms by FMA.
                        const uninlu_f16* qv = qkv + (long)(q0 + qLocal) * ld + (long)head * 64;
                        const uninlu_f16* kv = qkv + (long)(seqStart + kb + kLocal) * ld + H + (long)head * 64;
                        const uninlu_f16* qr = rel + (long)d * relColumns + (long)head * 64;
                        const uninlu_f16* kr = qr + H;
                        float acc = 0.f;
                        for (int x = 0; x < 64; ++x)
                            acc += f16_to_f32(qv[x]) * f16_to_f32(kr[x]) + f16_to_f32(kv[x]) * f16_to_f32(qr[x]);
                        s[nt][e] += acc * scale;
                    }
                }
                bm0 = fmaxf(bm0, fmaxf(s[nt][0], s[nt][1]));
                bm1 = fmaxf(bm1, fmaxf(s[nt][2], s[nt][3]));
            }
            bm0 = fmaxf(bm0, __shfl_xor_sync(0xffffffffu, bm0, 1)); bm0 = fmaxf(bm0, __shfl_xor_sync(0xffffffffu, bm0, 2));
            bm1 = fmaxf(bm1, __shfl_xor_sync(0xffffffffu, bm1, 1)); bm1 = fmaxf(bm1, __shfl_xor_sync(0xffffffffu, bm1, 2));
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
            if (STAGED) {
                #pragma unroll
                for (int n = 0; n < 8; n += 2) {
                    // matrices: (keys 0-7, dims n*8..), (keys 8-15, n*8..), (keys 0-7, (n+1)*8..), (keys 8-15, (n+1)*8..)
                    unsigned int b0, b1, b2, b3;
                    ldmatrix_x4_trans(b0, b1, b2, b3, vs + ((mi & 1) * 8 + mr) * ROW + (n + (mi >> 1)) * 8);
                    mma_16816(o[n], pa, b0, b1);
                    mma_16816(o[n + 1], pa, b2, b3);
                }
            } else {
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
        }
        l0 = quad_sum(l0);
        l1 = quad_sum(l1);
        if (SPLIT > 1) {
            // Each warp's partials go to its own table space (mergeStride floats apart, at least 1,056).
            constexpr int ROWS_PER_WARP = 16 / SPLIT;
            __syncwarp();
            split_store_partials(mergeBase + warp * mergeStride, o, m0, m1, l0, l1);
            __syncthreads();
            // Warp w merges rows w*R .. w*R + R-1 (R = 16 / SPLIT): lanes over (row, pair of dims).
            for (int e = lane; e < ROWS_PER_WARP * 32; e += 32) {
                const int r = warp * ROWS_PER_WARP + e / 32, d = (e % 32) * 2;
                const int row = q0 + r;
                if (row >= qEnd) continue;
                float a0, a1;
                const float L = split_merge_row(mergeBase, mergeStride, SPLIT, r, d, a0, a1);
                // Every key masked: L is 0 and the row is zeros (XSoftmax).
                const float inv = L > 0.f ? 1.f / L : 0.f;
                *reinterpret_cast<unsigned int*>(out + (long)row * H + (long)head * 64 + d) = pack_f16x2(a0 * inv, a1 * inv);
            }
            return;
        }
        // A row with every key masked has l = 0: zeros (XSoftmax).
        const float inv0 = l0 > 0.f ? 1.f / l0 : 0.f, inv1 = l1 > 0.f ? 1.f / l1 : 0.f;
        const int row0 = q0 + g, row1 = q0 + g + 8;
        #pragma unroll
        for (int n = 0; n < 8; ++n) {
            const int d = n * 8 + t * 2;
            if (row0 < qEnd) {
                unsigned int* dst = reinterpret_cast<unsigned int*>(out + (long)row0 * H + (long)head * 64 + d);
                *dst = pack_f16x2(o[n][0] * inv0, o[n][1] * inv0);
            }
            if (row1 < qEnd) {
                unsigned int* dst = reinterpret_cast<unsigned int*>(out + (long)row1 * H + (long)head * 64 + d);
                *dst = pack_f16x2(o[n][2] * inv1, o[n][3] * inv1);
            }
        }
    }
    #define DATT_MMA_PARAMS const uninlu_f16* qkv, const uninlu_f16* rel, uninlu_f16* out, const int4* items, \
            const int* relIndex, int heads, int relColumns, int relRows, float scale
    #define DATT_MMA_ARGS qkv, rel, out, items, relIndex, heads, relColumns, relRows, scale
    extern "C" __global__ void __launch_bounds__(128) disentangled_attention_mma_d64(DATT_MMA_PARAMS) {
        __shared__ float tables[4][2][16 * 65];
        const int warp = threadIdx.x >> 5;
        datt_mma_impl<false, 64, 1, false, false>(DATT_MMA_ARGS, tables[warp][0], tables[warp][1], nullptr, nullptr, nullptr, nullptr, nullptr, 0);
    }
    extern "C" __global__ void __launch_bounds__(128) disentangled_attention_mma_split_d64(DATT_MMA_PARAMS) {
        __shared__ float tables[4][2][16 * 65];
        const int warp = threadIdx.x >> 5;
        datt_mma_impl<false, 64, 4, false, false>(DATT_MMA_ARGS, tables[warp][0], tables[warp][1], nullptr, nullptr, nullptr, nullptr, &tables[0][0][0], 2 * 16 * 65);
    }
    extern "C" __global__ void __launch_bounds__(128) disentangled_attention_tc_d64(DATT_MMA_PARAMS) {
        __shared__ float tables[4][2][16 * 49];
        __shared__ __align__(16) uninlu_f16 tiles[4][2][16 * 72];
        const int warp = threadIdx.x >> 5;
        datt_mma_impl<true, 48, 1, false, false>(DATT_MMA_ARGS, tables[warp][0], tables[warp][1], tiles[warp][0], tiles[warp][1], nullptr, nullptr, nullptr, 0);
    }
    // Staged K/V and relative rows: the block's two K/V buffers (16 x 72 halves each of K and V, 9,216
    // bytes), then per warp Qr, Kr (32 x 72 halves each) and the two 16 x 40 FP32 tables (14,336
    // bytes): 66,560 bytes a block, dynamic shared memory.
    #define DATT_TCR_KV_BYTES \#(relativeStagedTileBytes)
    #define DATT_TCR_WARP_BYTES \#(relativeStagedWarpBytes)
    // The wide kernels' pointers into their dynamic shared memory: the K/V buffers, then this warp's
    // Qr and Kr rows and its two tables (a macro, not a function: the kernels keep their code).
    #define DATT_WIDE_SMEM(smem) \
        const int warp = threadIdx.x >> 5; \
        uninlu_f16* ks = reinterpret_cast<uninlu_f16*>(smem); \
        uninlu_f16* vs = ks + 16 * 72;   /* (set per tile from the buffers) */ \
        uninlu_f16* rq = reinterpret_cast<uninlu_f16*>(smem + DATT_TCR_KV_BYTES + warp * DATT_TCR_WARP_BYTES); \
        uninlu_f16* rk = rq + 32 * 72; \
        float* c2p = reinterpret_cast<float*>(rk + 32 * 72);
    extern "C" __global__ void __launch_bounds__(128) disentangled_attention_tcr_d64(DATT_MMA_PARAMS) {
        extern __shared__ __align__(16) unsigned char datt_tcr_smem[];
        DATT_WIDE_SMEM(datt_tcr_smem)
        datt_mma_impl<true, 32, 1, true, true>(DATT_MMA_ARGS, c2p, c2p + 16 * 40, ks, vs, rq, rk, nullptr, 0);
    }
    // The same with each tile's relative indices loaded, and its window's rows staged by cp.async, one
    // tile ahead (PIPE): the default for wide batches.
    extern "C" __global__ void __launch_bounds__(128) disentangled_attention_tcp_d64(DATT_MMA_PARAMS) {
        extern __shared__ __align__(16) unsigned char datt_tcp_smem[];
        DATT_WIDE_SMEM(datt_tcp_smem)
        datt_mma_impl<true, 32, 1, true, true, true>(DATT_MMA_ARGS, c2p, c2p + 16 * 40, ks, vs, rq, rk, nullptr, 0);
    }
    // Small batches: 8 warps split each 16-query item's keys (at 1x128 one 16-key tile a warp), each
    // staging its own K/V tile and relative rows: per warp K, V (16 x 72 halves each), Qr, Kr (32 x 72
    // halves each) and the two 16 x 40 FP32 tables, 18,944 bytes; 151,552 bytes a block, dynamic
    // shared memory. After the key loop each warp's partials reuse its own region.
    #define DATT_TCS_WARP_BYTES \#(splitStagedWarpBytes)
    extern "C" __global__ void __launch_bounds__(\#(32 * splitStagedWarps)) disentangled_attention_tcs_d64(DATT_MMA_PARAMS) {
        extern __shared__ __align__(16) unsigned char datt_tcs_smem[];
        const int warp = threadIdx.x >> 5;
        uninlu_f16* ks = reinterpret_cast<uninlu_f16*>(datt_tcs_smem + warp * DATT_TCS_WARP_BYTES);
        uninlu_f16* vs = ks + 16 * 72;
        uninlu_f16* rq = vs + 16 * 72;
        uninlu_f16* rk = rq + 32 * 72;
        float* c2p = reinterpret_cast<float*>(rk + 32 * 72);
        datt_mma_impl<true, 32, 8, true, false>(DATT_MMA_ARGS, c2p, c2p + 16 * 40, ks, vs, rq, rk,
                                                 reinterpret_cast<float*>(datt_tcs_smem), DATT_TCS_WARP_BYTES / 4);
    }

    // The n x n relative-row index of every sequence, from the rows' position ids and the per-distance
    // table (DisentangledAttentionLayout): one block per (query, sequence), threads over the keys.
    // Built on the device once per packing (and inside a captured graph), so the host builds and
    // uploads only O(rows + distances) for it; the attention kernels then read it as before. A masked
    // pair gets -1, so that the tensor-core kernels read one array, not two (the FMA kernels test
    // the mask first and never read it).
    extern "C" __global__ void relative_index_build(const int* __restrict__ posIds, const int* __restrict__ distRows, int reach,
            const int4* __restrict__ seqs, const unsigned char* __restrict__ mask, int* __restrict__ relIndex) {
        const int4 seq = seqs[blockIdx.y];   // (start, length, matrixOffset, 0)
        const int i = blockIdx.x;
        if (i >= seq.y) return;
        const int qDist = posIds[seq.x + i] + reach;
        const long at = (long)seq.z + (long)i * seq.y;
        for (int j = threadIdx.x; j < seq.y; j += blockDim.x)
            relIndex[at + j] = mask[at + j] != 0 ? distRows[qDist - posIds[seq.x + j]] : -1;
    }
    """#
    static let headSizes = [16, 32, 64, 128]
    static var names: [String] { headSizes.map { "disentangled_attention_d\($0)" } + ["disentangled_attention_mma_d64", "disentangled_attention_mma_split_d64", "disentangled_attention_tc_d64", "disentangled_attention_tcr_d64", "disentangled_attention_tcp_d64", "disentangled_attention_tcs_d64", "relative_index_build"] }
    /// Shared memory of disentangled_attention_tcr_d64: the block's two K/V buffers, then per warp its Qr, Kr
    /// rows and two tables.
    static let relativeStagedTileBytes = 2 * 2 * 16 * 72 * 2
    static let relativeStagedWarpBytes = 2 * 32 * 72 * 2 + 2 * 16 * 40 * 4
    static var relativeStagedBlockBytes: Int { relativeStagedTileBytes + warpsPerBlock * relativeStagedWarpBytes }
    /// Warps of the split kernel (they share one 16-query item and split its keys).
    static let splitWarps = 4
    /// disentangled_attention_tcs_d64 (small batches, staged): 8 warps split the keys, each with its own
    /// K/V tile, Qr and Kr rows and two tables.
    static let splitStagedWarps = 8
    static let splitStagedWarpBytes = 2 * 16 * 72 * 2 + 2 * 32 * 72 * 2 + 2 * 16 * 40 * 4
    static var splitStagedBlockBytes: Int { splitStagedWarps * splitStagedWarpBytes }
    /// Relative-row window of the tensor-core kernels' C2P/P2C tables (global-operand / staged /
    /// staged-relative-rows variant).
    static let tensorCoreWindow = 64
    static let stagedTensorCoreWindow = 48
    static let relativeStagedTensorCoreWindow = 32
    /// Queries a warp of the tensor-core kernel takes.
    static let tensorCoreQueriesPerWarp = 16
    static let warpsPerBlock = 4
    static let queriesPerWarp = 4
    static var queriesPerBlock: Int { warpsPerBlock * queriesPerWarp }
    static func sharedBytes(maxLength: Int, headSize: Int) -> Int {
        warpsPerBlock * queriesPerWarp * (maxLength + headSize) * 4
    }
}

/// Op entry: stages the layout's work items, 2-D mask, position ids and distance table once per packing (every
/// layer of a forward shares them), then one launch per layer.
enum DisentangledAttentionOp {
    /// One packing's layout on the device.
    final class StagedLayout {
        let layout: DisentangledAttentionLayout
        /// Per work item two int4: (seqStart, length, firstQuery, count), (matrixOffset, 0, 0, 0); 16
        /// queries an item for 4-warp blocks.
        let items: DeviceBuffer
        let itemCount: Int
        /// The same with 4 queries an item, for one-warp blocks (small batches: more blocks in flight).
        let narrowItems: DeviceBuffer
        let narrowItemCount: Int
        /// Items of the tensor-core kernel: 64 queries (4-warp blocks) and 16 queries (one-warp blocks).
        var tensorCoreItems: DeviceBuffer?
        var tensorCoreItemCount = 0
        var tensorCoreNarrowItems: DeviceBuffer?
        var tensorCoreNarrowItemCount = 0
        let mask: DeviceBuffer
        /// Position id per packed row and the relative row per distance (the layout's, as int32), and
        /// the n x n relative-row index relative_index_build makes of them on the device.
        let positions: DeviceBuffer
        let distanceRows: DeviceBuffer
        let sequenceTable: DeviceBuffer
        let relativeIndex: DeviceBuffer
        let maxLength: Int
        init(layout: DisentangledAttentionLayout, items: DeviceBuffer, itemCount: Int, narrowItems: DeviceBuffer, narrowItemCount: Int,
             mask: DeviceBuffer, positions: DeviceBuffer, distanceRows: DeviceBuffer, sequenceTable: DeviceBuffer,
             relativeIndex: DeviceBuffer, maxLength: Int) {
            self.layout = layout
            self.items = items
            self.itemCount = itemCount
            self.narrowItems = narrowItems
            self.narrowItemCount = narrowItemCount
            self.mask = mask
            self.positions = positions
            self.distanceRows = distanceRows
            self.sequenceTable = sequenceTable
            self.relativeIndex = relativeIndex
            self.maxLength = maxLength
        }
    }

    static func run(_ k: CUDAKernels, qkv: CUDAMatrix, positions: CUDAMatrix, layout: DisentangledAttentionLayout, heads: Int, headSize: Int) throws -> CUDAMatrix {
        let hidden = heads * headSize
        guard qkv.columns == 3 * hidden, qkv.rows == layout.sequences.totalRows,
              positions.columns >= 2 * hidden, positions.rows == layout.relativeRows
        else {
            throw CUDAError.shapeMismatch(
                op: "disentangledAttention",
                detail: "qkv \(qkv.rows)x\(qkv.columns), positions \(positions.rows)x\(positions.columns), \(layout.sequences.totalRows) rows packed, \(layout.relativeRows) relative rows, \(heads)x\(headSize)")
        }
        guard DisentangledAttentionKernel.headSizes.contains(headSize), hidden % 8 == 0, positions.columns % 8 == 0 else {
            throw CUDAError.unsupported(
                op: "disentangledAttention",
                detail: "head size \(headSize) (have \(DisentangledAttentionKernel.headSizes)); hidden \(hidden) and the position width \(positions.columns) must be multiples of 8")
        }
        let out = try k.makeMatrix(rows: qkv.rows, columns: hidden)
        guard qkv.rows > 0 else { return out }
        let staged: StagedLayout
        // The same layout (every layer of one forward) reuses the staging; another forward's layout is
        // staged anew even when equal: comparing a 2 MB mask costs more than uploading it, and eager
        // forwards at 128x128 spent ~20 of their 23 ms of host time in twelve such comparisons.
        if let cached = k.disentangledLayoutCache, cached.layout.isSameInstance(as: layout) {
            staged = cached
        } else {
            HostTrace.mark("layer 0 up to attention queued, layout compared")
            staged = try stage(k, layout)
            k.disentangledLayoutCache = staged
            HostTrace.mark("DeBERTa layout staged")
        }
        // 4 warps (16 queries) a block when that fills the GPU twice over, else one warp (4 queries).
        let wide = staged.itemCount * heads >= 2 * k.context.info.multiprocessorCount
        let warps = wide ? DisentangledAttentionKernel.warpsPerBlock : 1
        let shared = DisentangledAttentionKernel.sharedBytes(maxLength: staged.maxLength, headSize: headSize) / DisentangledAttentionKernel.warpsPerBlock * warps
        let limit = max(48 << 10, k.context.info.maxSharedMemoryPerBlockOptin)
        guard shared <= limit else {
            throw CUDAError.unsupported(
                op: "disentangledAttention", detail: "sequence of \(staged.maxLength) tokens needs \(shared) bytes of shared memory (limit \(limit))")
        }
        let scale = 1 / (Float(headSize) * 3).squareRoot()
        if k.precision == .fp16, headSize == 64, k.tensorCoreDisentangledAttention {
            if staged.tensorCoreItems == nil {
                let items = workItems(layout, queriesPerItem: 4 * DisentangledAttentionKernel.tensorCoreQueriesPerWarp)
                let narrow = workItems(layout, queriesPerItem: DisentangledAttentionKernel.tensorCoreQueriesPerWarp)
                staged.tensorCoreItems = try k.stageInt32(items)
                staged.tensorCoreItemCount = items.count / 8
                staged.tensorCoreNarrowItems = try k.stageInt32(narrow)
                staged.tensorCoreNarrowItemCount = narrow.count / 8
            }
            guard let wideItems = staged.tensorCoreItems, let narrowItems = staged.tensorCoreNarrowItems else { return out }
            let tcWide = staged.tensorCoreItemCount * heads >= k.disentangledWideItems
            // Enough items for 4-warp blocks: the staged kernel by default (relative rows staged too,
            // unless turned off). Too few: one-warp blocks, or (default, unstaged kernel) 4-warp blocks
            // that split each 16-query item's keys.
            let stagedHere = k.stagedDisentangledAttention || (tcWide && k.stagedWideDisentangledAttention)
            let relativeRowsStaged = stagedHere && tcWide && k.relativeRowsStagedDisentangledAttention
                && k.context.info.maxSharedMemoryPerBlockOptin >= DisentangledAttentionKernel.relativeStagedBlockBytes
            let split = !tcWide && !k.stagedDisentangledAttention && k.splitDisentangledAttention
            // Split keys, staged: 8 warps each staging its own tile and relative rows (unless the
            // relative rows stay in global memory, UNINLU_DEBERTA_ATTENTION=tc-global, or the device
            // lacks the shared memory: then the unstaged 4-warp split kernel).
            let splitStaged = split && k.relativeRowsStagedDisentangledAttention
                && k.context.info.maxSharedMemoryPerBlockOptin >= DisentangledAttentionKernel.splitStagedBlockBytes
            let name = relativeRowsStaged ? (k.pipelinedDisentangledAttention ? "disentangled_attention_tcp_d64" : "disentangled_attention_tcr_d64")
                : stagedHere ? "disentangled_attention_tc_d64"
                : splitStaged ? "disentangled_attention_tcs_d64"
                : split ? "disentangled_attention_mma_split_d64" : "disentangled_attention_mma_d64"
            let threads = splitStaged ? 32 * DisentangledAttentionKernel.splitStagedWarps : tcWide || split ? 128 : 32
            try k.context.launch(
                k.function(name), name: name, grid: (tcWide ? staged.tensorCoreItemCount : staged.tensorCoreNarrowItemCount, heads, 1),
                block: (threads, 1, 1),
                sharedBytes: relativeRowsStaged ? DisentangledAttentionKernel.relativeStagedBlockBytes
                    : splitStaged ? DisentangledAttentionKernel.splitStagedBlockBytes : 0,
                [.pointer(qkv.pointer), .pointer(positions.pointer), .pointer(out.pointer), .pointer(tcWide ? wideItems.pointer : narrowItems.pointer),
                 .pointer(staged.relativeIndex.pointer), .int32(Int32(heads)),
                 .int32(Int32(positions.columns)), .int32(Int32(positions.rows)), .float(scale)])
            return out
        }
        let name = "disentangled_attention_d\(headSize)"
        try k.context.launch(
            k.function(name), name: name, grid: (wide ? staged.itemCount : staged.narrowItemCount, heads, 1),
            block: (32 * warps, 1, 1), sharedBytes: shared,
            [.pointer(qkv.pointer), .pointer(positions.pointer), .pointer(out.pointer),
             .pointer(wide ? staged.items.pointer : staged.narrowItems.pointer),
             .pointer(staged.mask.pointer), .pointer(staged.relativeIndex.pointer), .int32(Int32(heads)),
             .int32(Int32(positions.columns)), .int32(Int32(staged.maxLength)), .float(scale)])
        return out
    }

    /// Per work item 8 int32: (seqStart, length, firstQuery, count, matrixOffset, 0, 0, 0); a block per item.
    static func workItems(_ layout: DisentangledAttentionLayout, queriesPerItem: Int = DisentangledAttentionKernel.queriesPerBlock) -> [Int32] {
        let sequences = layout.sequences
        var items: [Int32] = []
        items.reserveCapacity(8 * (sequences.totalRows / max(queriesPerItem, 1) + sequences.count))
        for s in 0..<sequences.count {
            let start = sequences.offsets[s], length = sequences.length(of: s)
            var q = 0
            while q < length {
                let count = min(queriesPerItem, length - q)
                for value in [start, length, start + q, count, layout.matrixOffsets[s]] { items.append(Int32(value)) }
                items.append(contentsOf: repeatElement(0, count: 3))
                q += count
            }
        }
        return items
    }

    static func stage(_ k: CUDAKernels, _ layout: DisentangledAttentionLayout) throws -> StagedLayout {
        guard let total = layout.matrixOffsets.last, total <= Int(Int32.max) else {
            throw CUDAError.unsupported(op: "disentangledAttention", detail: "more than 2^31 (query, key) pairs in one forward")
        }
        let sequences = layout.sequences
        guard sequences.count <= 65_535 else {
            throw CUDAError.unsupported(op: "disentangledAttention", detail: "\(sequences.count) sequences in one forward (at most 65535)")
        }
        let items = workItems(layout)
        let narrow = workItems(layout, queriesPerItem: DisentangledAttentionKernel.queriesPerWarp)
        var table: [Int32] = []
        table.reserveCapacity(4 * sequences.count)
        for s in 0..<sequences.count {
            for value in [sequences.offsets[s], sequences.length(of: s), layout.matrixOffsets[s], 0] { table.append(Int32(value)) }
        }
        let staged = StagedLayout(
            layout: layout, items: try k.stageInt32(items), itemCount: items.count / 8,
            narrowItems: try k.stageInt32(narrow), narrowItemCount: narrow.count / 8, mask: try k.stageUInt8(layout.mask),
            positions: try k.stageInt32(layout.positions), distanceRows: try k.stageInt32(layout.distanceRows),
            sequenceTable: try k.stageInt32(table), relativeIndex: try k.allocateFloats(total),  // int32 entries
            maxLength: sequences.maxLength)
        if total > 0 {
            try k.context.launch(
                k.function("relative_index_build"), name: "relative_index_build", grid: (sequences.maxLength, sequences.count, 1),
                block: (128, 1, 1),
                [.pointer(staged.positions.pointer), .pointer(staged.distanceRows.pointer), .int32(Int32(layout.reach)),
                 .pointer(staged.sequenceTable.pointer), .pointer(staged.mask.pointer), .pointer(staged.relativeIndex.pointer)])
        }
        return staged
    }
}
