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
    """#
    static let headSizes = [16, 32, 64, 128]
    static var names: [String] { headSizes.map { "attention_d\($0)" } }
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
        var items: [Int32] = []
        var maxLength = 0
        for s in 0..<sequences.count {
            let start = sequences.offsets[s], length = sequences.length(of: s)
            maxLength = max(maxLength, length)
            var q = 0
            while q < length {
                let count = min(AttentionKernel.queriesPerBlock, length - q)
                items += [Int32(start), Int32(length), Int32(start + q), Int32(count)]
                q += count
            }
        }
        guard !items.isEmpty else { return out }
        let shared = AttentionKernel.sharedBytes(maxLength: maxLength, headSize: headSize)
        let limit = max(48 << 10, k.context.info.maxSharedMemoryPerBlockOptin)
        guard shared <= limit else {
            throw CUDAError.unsupported(op: "attention", detail: "sequence of \(maxLength) tokens needs \(shared) bytes of shared memory (limit \(limit))")
        }
        let itemBuffer = try k.stageInt32(items)
        let maskBuffer = try sequences.keyMask.map { try k.stageUInt8($0) }
        let name = "attention_d\(headSize)"
        try k.context.launch(
            k.function(name), name: name, grid: (items.count / 4, heads, 1),
            block: (32 * AttentionKernel.warpsPerBlock, 1, 1), sharedBytes: shared,
            [.pointer(qkv.pointer), .pointer(out.pointer), .pointer(itemBuffer.pointer), .pointer(maskBuffer?.pointer ?? 0),
             .int32(Int32(heads)), .int32(Int32(maxLength)), .float(1 / Float(headSize).squareRoot())])
        withExtendedLifetime(maskBuffer) {}
        return out
    }
}
