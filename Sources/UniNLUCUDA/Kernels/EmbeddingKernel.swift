// Embedding gather + LayerNorm in one pass: per row, the sum of one row of up to three tables
// (word, position, token type), staged in FP32 shared memory, then LayerNorm with FP32 statistics.
// `ids` is [tables][rows] int32, checked against the table sizes on the host.

enum EmbeddingKernel {
    static let source = #"""
    extern "C" __global__ void embed_layer_norm(const int* ids, int rows, int tableCount,
            const act_t* t0, const act_t* t1, const act_t* t2,
            const float* gamma, const float* beta, int width, float eps, act_t* y) {
        extern __shared__ float smem[];
        float* row = smem;
        float* scratch = smem + width;
        const int r = blockIdx.x;
        const long b0 = (long)ids[r] * width;
        const long b1 = tableCount > 1 ? (long)ids[rows + r] * width : 0;
        const long b2 = tableCount > 2 ? (long)ids[2 * rows + r] * width : 0;
        float s = 0.f;
        for (int i = threadIdx.x; i < width; i += blockDim.x) {
            float v = load_act(t0, b0 + i);
            if (tableCount > 1) v += load_act(t1, b1 + i);
            if (tableCount > 2) v += load_act(t2, b2 + i);
            row[i] = v;
            s += v;
        }
        const float mean = block_sum(s, scratch) / width;
        float q = 0.f;
        for (int i = threadIdx.x; i < width; i += blockDim.x) { float d = row[i] - mean; q += d * d; }
        const float inv = rsqrtf(block_sum(q, scratch) / width + eps);
        const long out = (long)r * width;
        for (int i = threadIdx.x; i < width; i += blockDim.x)
            store_act(y, out + i, (row[i] - mean) * inv * gamma[i] + beta[i]);
    }
    """#
    static let names = ["embed_layer_norm"]
    static let maxTables = 3
}

/// Op entry: checks ids on the host, stages them, launches `embed_layer_norm`.
enum EmbeddingOp {
    static func run(_ k: CUDAKernels, tables: [CUDAEmbeddingTable], ids: [[Int32]], norm: CUDANorm) throws -> CUDAMatrix {
        guard !tables.isEmpty, tables.count == ids.count, tables.count <= EmbeddingKernel.maxTables,
              let rows = ids.first?.count, ids.allSatisfy({ $0.count == rows }),
              let width = tables.first?.width, tables.allSatisfy({ $0.width == width }), norm.width == width
        else {
            throw CUDAError.shapeMismatch(op: "embed", detail: "\(tables.count) tables (at most \(EmbeddingKernel.maxTables)), \(ids.count) id lists")
        }
        for (t, list) in ids.enumerated() {
            if let bad = list.first(where: { $0 < 0 || Int($0) >= tables[t].rows }) {
                throw CUDAError.idOutOfRange(table: t, id: bad, rows: tables[t].rows)
            }
        }
        let y = try k.makeMatrix(rows: rows, columns: width)
        guard rows > 0 else { return y }
        let staged = try k.stageInt32(ids.flatMap { $0 })
        let t = tables.map(\.values.pointer)
        let threads = min(256, max(32, (width + 31) / 32 * 32))
        try k.context.launch(
            k.function("embed_layer_norm"), name: "embed_layer_norm", grid: (rows, 1, 1), block: (threads, 1, 1),
            sharedBytes: LayerNormKernel.sharedBytes(width: width),
            [.pointer(staged.pointer), .int32(Int32(rows)), .int32(Int32(tables.count)),
             .pointer(t[0]), .pointer(t.count > 1 ? t[1] : t[0]), .pointer(t.count > 2 ? t[2] : t[0]),
             .pointer(norm.gamma), .pointer(norm.beta), .int32(Int32(width)), .float(norm.epsilon), .pointer(y.pointer)])
        return y
    }
}
