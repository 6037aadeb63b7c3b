// Embedding gather: the sum of one row of each table per token, then LayerNorm (BERT embeddings).

public final class CPUEmbeddingTable: @unchecked Sendable {
    // @unchecked: immutable after init.
    public let rows: Int
    public let width: Int
    let values: [Float]
    public init(values: [Float], rows: Int, width: Int) {
        precondition(values.count == rows * width)
        self.values = values
        self.rows = rows
        self.width = width
    }
}

public enum EmbeddingGather {
    /// `ids[t][i]` picks the row of `tables[t]` for token i. Ids must be in range (checked by the caller's
    /// throwing wrapper).
    public static func apply(tables: [CPUEmbeddingTable], ids: [[Int32]], norm: CPUNorm) -> CPUMatrix {
        let count = ids.first?.count ?? 0
        let width = tables[0].width
        let y = CPUMatrix(rows: count, columns: width)
        let chunks = CPUParallel.chunks(count, grain: 16)
        CPUParallel.forEach(chunks.count, work: count * width * tables.count * 4) { chunk in
            let sum = UnsafeMutablePointer<Float>.allocate(capacity: width)
            defer { sum.deallocate() }
            for token in chunks[chunk] {
                sum.update(repeating: 0, count: width)
                for (t, table) in tables.enumerated() {
                    let base = Int(ids[t][token]) * width
                    table.values.withUnsafeBufferPointer { v in
                        for i in 0..<width { sum[i] += v[base + i] }
                    }
                }
                LayerNorm.normalizeRow(sum, into: y.row(token), width: width, norm)
            }
        }
        return y
    }
}
