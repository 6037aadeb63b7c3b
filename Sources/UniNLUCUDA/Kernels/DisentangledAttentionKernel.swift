import UniNLUCore
// DeBERTa-v2 disentangled attention over packed sequences (RexUniNLU): per (query i, key j) of a
// sequence and a head, s = (q_i·k_j + q_i·Kr[δ] + k_j·Qr[δ]) / sqrt(3d) with δ = relativeIndex(i, j)
// (host-computed, raw or log-bucketed: the kernel only gathers), the 2-D mask, a masked softmax with
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
    """#
    static let headSizes = [16, 32, 64, 128]
    static var names: [String] { headSizes.map { "disentangled_attention_d\($0)" } }
    static let warpsPerBlock = 4
    static let queriesPerWarp = 4
    static var queriesPerBlock: Int { warpsPerBlock * queriesPerWarp }
    static func sharedBytes(maxLength: Int, headSize: Int) -> Int {
        warpsPerBlock * queriesPerWarp * (maxLength + headSize) * 4
    }
}

/// Op entry: stages the layout's work items, 2-D mask and relative indices once per packing (every
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
        let mask: DeviceBuffer
        let relativeIndex: DeviceBuffer
        let maxLength: Int
        init(layout: DisentangledAttentionLayout, items: DeviceBuffer, itemCount: Int, narrowItems: DeviceBuffer, narrowItemCount: Int,
             mask: DeviceBuffer, relativeIndex: DeviceBuffer, maxLength: Int) {
            self.layout = layout
            self.items = items
            self.itemCount = itemCount
            self.narrowItems = narrowItems
            self.narrowItemCount = narrowItemCount
            self.mask = mask
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
        // `==` is O(1) when the arrays share storage (the same layout passed by every layer).
        if let cached = k.disentangledLayoutCache, cached.layout == layout {
            staged = cached
        } else {
            staged = try stage(k, layout)
            k.disentangledLayoutCache = staged
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
        for s in 0..<sequences.count {
            let start = sequences.offsets[s], length = sequences.length(of: s)
            var q = 0
            while q < length {
                let count = min(queriesPerItem, length - q)
                items += [Int32(start), Int32(length), Int32(start + q), Int32(count), Int32(layout.matrixOffsets[s]), 0, 0, 0]
                q += count
            }
        }
        return items
    }

    static func stage(_ k: CUDAKernels, _ layout: DisentangledAttentionLayout) throws -> StagedLayout {
        guard let total = layout.matrixOffsets.last, total <= Int(Int32.max) else {
            throw CUDAError.unsupported(op: "disentangledAttention", detail: "more than 2^31 (query, key) pairs in one forward")
        }
        let items = workItems(layout)
        let narrow = workItems(layout, queriesPerItem: DisentangledAttentionKernel.queriesPerWarp)
        return StagedLayout(
            layout: layout, items: try k.stageInt32(items), itemCount: items.count / 8,
            narrowItems: try k.stageInt32(narrow), narrowItemCount: narrow.count / 8, mask: try k.stageUInt8(layout.mask),
            relativeIndex: try k.stageInt32(layout.relativeIndex), maxLength: layout.sequences.maxLength)
    }
}
