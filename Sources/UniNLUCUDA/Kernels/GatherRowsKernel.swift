import UniNLUCore
// Builds an activation from rows of others: `rowSources[r]` is the device address of destination
// row r's source row. 16-byte copies when every row is 16-byte aligned, else element copies.

enum GatherRowsKernel {
    static let source = #"""
    extern "C" __global__ void gather_rows_vec16(const unsigned long long* rowSources, uint4* y, int chunksPerRow) {
        const uint4* src = reinterpret_cast<const uint4*>(rowSources[blockIdx.x]);
        uint4* dst = y + (long)blockIdx.x * chunksPerRow;
        for (int i = threadIdx.x; i < chunksPerRow; i += blockDim.x) dst[i] = src[i];
    }
    extern "C" __global__ void gather_rows(const unsigned long long* rowSources, act_t* y, int width) {
        const act_t* src = reinterpret_cast<const act_t*>(rowSources[blockIdx.x]);
        act_t* dst = y + (long)blockIdx.x * width;
        for (int i = threadIdx.x; i < width; i += blockDim.x) dst[i] = src[i];
    }
    """#
    static let names = ["gather_rows_vec16", "gather_rows"]
}

/// Op entry: resolves each destination row's source address on the host, stages the table.
enum GatherRowsOp {
    static func run(_ k: CUDAKernels, _ sources: [CUDAMatrix], segments: [RowSegment]) throws -> CUDAMatrix {
        guard let width = sources.first?.columns, sources.allSatisfy({ $0.columns == width }) else {
            throw CUDAError.shapeMismatch(op: "gatherRows", detail: "sources of different widths")
        }
        let rowBytes = width * k.elementSize
        var addresses: [UInt64] = []
        addresses.reserveCapacity(segments.reduce(0) { $0 + $1.count })
        for segment in segments {
            guard segment.source >= 0, segment.source < sources.count, segment.start >= 0, segment.count >= 0,
                  segment.start + segment.count <= sources[segment.source].rows
            else { throw CUDAError.shapeMismatch(op: "gatherRows", detail: "segment \(segment) out of range") }
            let base = sources[segment.source].pointer
            for r in segment.start..<(segment.start + segment.count) { addresses.append(base + UInt64(r * rowBytes)) }
        }
        let y = try k.makeMatrix(rows: addresses.count, columns: width)
        guard !addresses.isEmpty else { return y }
        let table = try k.stageUInt64(addresses)
        if rowBytes % 16 == 0 {
            let chunks = rowBytes / 16
            try k.context.launch(k.function("gather_rows_vec16"), name: "gather_rows_vec16", grid: (addresses.count, 1, 1),
                                 block: (min(256, max(32, chunks)), 1, 1),
                                 [.pointer(table.pointer), .pointer(y.pointer), .int32(Int32(chunks))])
        } else {
            try k.context.launch(k.function("gather_rows"), name: "gather_rows", grid: (addresses.count, 1, 1),
                                 block: (min(256, max(32, width)), 1, 1),
                                 [.pointer(table.pointer), .pointer(y.pointer), .int32(Int32(width))])
        }
        return y
    }
}
