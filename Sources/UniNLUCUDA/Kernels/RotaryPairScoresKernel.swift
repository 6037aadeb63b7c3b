import UniNLUCore
// RexUniNLU's token-pair logits: `rotary_rotate` applies the interleaved (GPT-J) rotary embedding to
// q and k of every row at its position id (angle = position · f in FP32, cosf/sinf) into FP32
// buffers; `pair_scores_t64` computes Z = q'·k'ᵀ per packed sequence, a 64x64 tile of Z per block
// with 4x4 outputs per thread (8 shared loads per 16 FMAs), FP32 throughout, into one FP32 buffer
// (sequence s at zOffsets[s], row-major n x n) for the host. `pair_scores` is the earlier form (16x16
// tiles, one output per thread: 2 shared loads per FMA), kept for UNINLU_PAIR_SCORES=tiles16.

enum RotaryPairScoresKernel {
    static let source = #"""
    extern "C" __global__ void rotary_rotate(const act_t* __restrict__ qk, float* __restrict__ q, float* __restrict__ k,
            const int* __restrict__ positions, const float* __restrict__ freqs, int width, int pairs) {
        const int r = blockIdx.x;
        const float position = (float)positions[r];
        const act_t* src = qk + (long)r * 2 * width;
        for (int d = threadIdx.x; d < width; d += blockDim.x) {
            float qv, kv;
            if (d < 2 * pairs) {
                const int m = d >> 1;
                const float angle = position * freqs[m];
                const float c = cosf(angle), s = sinf(angle);
                const float qa = load_act(src, 2 * m), qb = load_act(src, 2 * m + 1);
                const float ka = load_act(src, width + 2 * m), kb = load_act(src, width + 2 * m + 1);
                if ((d & 1) == 0) { qv = qa * c - qb * s; kv = ka * c - kb * s; }
                else { qv = qb * c + qa * s; kv = kb * c + ka * s; }
            } else {
                qv = load_act(src, d);
                kv = load_act(src, width + d);
            }
            q[(long)r * width + d] = qv;
            k[(long)r * width + d] = kv;
        }
    }
    extern "C" __global__ void pair_scores(const float* __restrict__ q, const float* __restrict__ k, float* __restrict__ z,
            const int* __restrict__ offsets, const long long* __restrict__ zOffsets, int width) {
        __shared__ float qs[16][17];
        __shared__ float ks[16][17];
        const int s = blockIdx.z;
        const int start = offsets[s], n = offsets[s + 1] - start;
        if (blockIdx.y * 16 >= n || blockIdx.x * 16 >= n) return;   // uniform over the block
        const int tx = threadIdx.x, ty = threadIdx.y;
        const int i = blockIdx.y * 16 + ty;      // query row of the output
        const int j = blockIdx.x * 16 + tx;      // key column
        const int jl = blockIdx.x * 16 + ty;     // key row loaded by this thread
        float acc = 0.f;
        for (int p0 = 0; p0 < width; p0 += 16) {
            qs[ty][tx] = (i < n && p0 + tx < width) ? q[(long)(start + i) * width + p0 + tx] : 0.f;
            ks[ty][tx] = (jl < n && p0 + tx < width) ? k[(long)(start + jl) * width + p0 + tx] : 0.f;
            __syncthreads();
            #pragma unroll
            for (int t = 0; t < 16; ++t) acc += qs[ty][t] * ks[tx][t];
            __syncthreads();
        }
        if (i < n && j < n) z[zOffsets[s] + (long)i * n + j] = acc;
    }
    // Thread (tx, ty) of 16x16 owns rows ty + 16a and columns tx + 16b (a, b < 4) of the block's tile,
    // so a warp reads 16 consecutive k values and 2 broadcast q values from shared memory per step.
    extern "C" __global__ void __launch_bounds__(256) pair_scores_t64(const float* __restrict__ q, const float* __restrict__ k,
            float* __restrict__ z, const int* __restrict__ offsets, const long long* __restrict__ zOffsets, int width) {
        __shared__ float qs[16][65];
        __shared__ float ks[16][65];
        const int s = blockIdx.z;
        const int start = offsets[s], n = offsets[s + 1] - start;
        const int row0 = blockIdx.y * 64, col0 = blockIdx.x * 64;
        if (row0 >= n || col0 >= n) return;   // uniform over the block
        const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4, tid = threadIdx.x;
        float acc[4][4] = {};
        for (int p0 = 0; p0 < width; p0 += 16) {
            #pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int idx = tid + 256 * e, r = idx >> 4, c = idx & 15;
                const bool inK = p0 + c < width;
                qs[c][r] = (row0 + r < n && inK) ? q[(long)(start + row0 + r) * width + p0 + c] : 0.f;
                ks[c][r] = (col0 + r < n && inK) ? k[(long)(start + col0 + r) * width + p0 + c] : 0.f;
            }
            __syncthreads();
            #pragma unroll
            for (int t = 0; t < 16; ++t) {
                float qv[4], kv[4];
                #pragma unroll
                for (int a = 0; a < 4; ++a) { qv[a] = qs[t][ty + 16 * a]; kv[a] = ks[t][tx + 16 * a]; }
                #pragma unroll
                for (int a = 0; a < 4; ++a)
                    #pragma unroll
                    for (int b = 0; b < 4; ++b) acc[a][b] = fmaf(qv[a], kv[b], acc[a][b]);
            }
            __syncthreads();
        }
        #pragma unroll
        for (int a = 0; a < 4; ++a) {
            const int i = row0 + ty + 16 * a;
            if (i >= n) continue;
            #pragma unroll
            for (int b = 0; b < 4; ++b) {
                const int j = col0 + tx + 16 * b;
                if (j < n) z[zOffsets[s] + (long)i * n + j] = acc[a][b];
            }
        }
    }
    """#
    static let names = ["rotary_rotate", "pair_scores", "pair_scores_t64"]
}

enum RotaryPairScoresOp {
    /// Start of each sequence's n x n block in the Z buffer, plus the total.
    static func zOffsets(_ sequences: PackedSequences) -> [UInt64] {
        var offsets: [UInt64] = [0]
        for s in 0..<sequences.count { offsets.append(offsets[s] + UInt64(sequences.length(of: s) * sequences.length(of: s))) }
        return offsets
    }

    static func run(_ k: CUDAKernels, _ queryKeys: CUDAMatrix, positions: [Int32], frequencies: [Float], sequences: PackedSequences) throws -> [Float] {
        guard queryKeys.columns > 0, queryKeys.columns % 2 == 0, queryKeys.rows == sequences.totalRows, positions.count == queryKeys.rows,
              2 * frequencies.count <= queryKeys.columns / 2
        else {
            throw CUDAError.shapeMismatch(
                op: "rotaryPairScores",
                detail: "q|k \(queryKeys.rows)x\(queryKeys.columns), \(positions.count) positions, \(frequencies.count) frequencies, \(sequences.totalRows) rows packed")
        }
        let width = queryKeys.columns / 2
        let rows = queryKeys.rows
        let zOffsets = zOffsets(sequences)
        let total = Int(zOffsets[sequences.count])
        guard rows > 0, total > 0 else { return [] }
        let q = try k.allocateFloats(rows * width)
        let kk = try k.allocateFloats(rows * width)
        let z = try k.allocateFloats(total)
        let stagedPositions = try k.stageInt32(positions)
        let stagedFrequencies = try k.stageFloat(frequencies.isEmpty ? [0] : frequencies)
        let pairs = min(frequencies.count, width / 2)
        try k.context.launch(
            k.function("rotary_rotate"), name: "rotary_rotate", grid: (rows, 1, 1), block: (min(256, max(32, (width + 31) / 32 * 32)), 1, 1),
            [.pointer(queryKeys.pointer), .pointer(q.pointer), .pointer(kk.pointer), .pointer(stagedPositions.pointer),
             .pointer(stagedFrequencies.pointer), .int32(Int32(width)), .int32(Int32(pairs))])
        let offsets = try k.stageInt32(sequences.offsets.map { Int32($0) })
        let stagedZOffsets = try k.stageUInt64(zOffsets)
        // One block per tile of Z: 16x16 outputs on 16x16 threads, or 64x64 on 256 threads.
        let (name, tile, block) = k.pairScoresTiles16 ? ("pair_scores", 16, (16, 16, 1)) : ("pair_scores_t64", 64, (256, 1, 1))
        let tiles = (sequences.maxLength + tile - 1) / tile
        try k.context.launch(
            k.function(name), name: name, grid: (tiles, tiles, sequences.count), block: block,
            [.pointer(q.pointer), .pointer(kk.pointer), .pointer(z.pointer), .pointer(offsets.pointer), .pointer(stagedZOffsets.pointer),
             .int32(Int32(width))])
        HostTrace.mark("pair-score kernels queued")
        if HostTrace.enabled {
            try k.context.synchronize()
            HostTrace.mark("GPU done (waited)")
        }
        // One download, packed as on the device (the callers take views, not copies, per sequence).
        let host = try k.downloadFloats(z, count: total)
        HostTrace.mark("Z downloaded")
        return host
    }
}
