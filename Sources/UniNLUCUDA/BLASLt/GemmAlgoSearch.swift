import CCUDA

// The wide form of the GEMM autotune (UNINLU_GEMM_SEARCH=all): besides cuBLASLt's heuristic
// candidates, the configurations cuBLASLt accepts for the shape when enumerated by hand (every
// algorithm id with the epilogue; its tiles, stage counts, split-K counts with FP32 reductions, and
// a few cluster shapes), each timed with two runs behind the stream hold, the fastest few timed again
// with the full count and set against the heuristic's best. The heuristic offers 6-16 candidates; this
// asks whether a configuration it never offers is faster at our small row counts.

extension GemmEngine {
    struct SearchedAlgorithm {
        var algo: cublasLtMatmulAlgo_t
        var label: String
    }

    static var searchFromEnvironment: Bool { getenvString("UNINLU_GEMM_SEARCH") == "all" }
    /// Split-K counts tried where an algorithm supports split-K.
    static let searchedSplits: [Int32] = [1, 2, 3, 4, 6, 8, 12, 16]
    /// Cluster shapes tried: auto, 1x1x1, 2x1x1, 1x2x1 (cublasLtClusterShape_t).
    static let searchedClusters: [UInt16] = [0, 2, 3, 5]
    /// Configurations timed at most per shape (the enumeration stops there and says so).
    static let searchLimit = 4000
    /// Configurations checked at most per shape.
    static let searchCheckLimit = 200_000
    /// Configurations timed again with the full count after the two-run pass.
    static let searchFinalists = 8

    /// Every configuration cuBLASLt accepts for `plan` (workspace within ours), in enumeration order.
    func searchedConfigurations(_ plan: Plan, _ key: Key) -> (found: [SearchedAlgorithm], checked: Int, capped: Bool) {
        let ab = dataType, cd = key.splits > 0 ? Int32(UNINLU_CUDA_R_32F) : dataType
        let compute = Int32(UNINLU_CUBLAS_COMPUTE_32F), scale = Int32(UNINLU_CUDA_R_32F)
        var ids = [Int32](repeating: 0, count: 1024)
        var count: Int32 = 0
        guard api.cublasLtMatmulAlgoGetIds(handle, compute, scale, ab, ab, cd, cd, Int32(ids.count), &ids, &count) == 0 else {
            return ([], 0, false)
        }
        let epilogue: UInt32? = key.splits > 0 ? nil : (key.gelu ? Epilogue.biasGelu : .bias).value
        var found: [SearchedAlgorithm] = []
        var checked = 0
        for id in ids.prefix(Int(count)) {
            var base = cublasLtMatmulAlgo_t()
            guard api.cublasLtMatmulAlgoInit(handle, compute, scale, ab, ab, cd, cd, id, &base) == 0 else { continue }
            if let epilogue, (capability(base, UNINLU_CUBLASLT_ALGO_CAP_EPILOGUE_MASK) as UInt32) & epilogue != epilogue { continue }
            let tiles = capabilityList(base, UNINLU_CUBLASLT_ALGO_CAP_TILE_IDS)
            let stages = capabilityList(base, UNINLU_CUBLASLT_ALGO_CAP_STAGES_IDS)
            let splitK = (capability(base, UNINLU_CUBLASLT_ALGO_CAP_SPLITK_SUPPORT) as Int32) != 0
            let reductions = capability(base, UNINLU_CUBLASLT_ALGO_CAP_REDUCTION_SCHEME_MASK) as UInt32
            // One FP32 reduction per split count: in place where offered, else in the compute type.
            let reduction: UInt32? = reductions & UInt32(UNINLU_CUBLASLT_REDUCTION_SCHEME_INPLACE) != 0
                ? UInt32(UNINLU_CUBLASLT_REDUCTION_SCHEME_INPLACE)
                : reductions & UInt32(UNINLU_CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE) != 0 ? UInt32(UNINLU_CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE) : nil
            for tile in tiles.isEmpty ? [0] : tiles {
                for stage in stages.isEmpty ? [0] : stages {
                    for splits in splitK ? Self.searchedSplits : [1] {
                        if splits > 1 && reduction == nil { continue }
                        for cluster in Self.searchedClusters {
                            if found.count >= Self.searchLimit || checked >= Self.searchCheckLimit { return (found, checked, true) }
                            var algo = base
                            set(&algo, UNINLU_CUBLASLT_ALGO_CONFIG_TILE_ID, tile)
                            set(&algo, UNINLU_CUBLASLT_ALGO_CONFIG_STAGES_ID, stage)
                            set(&algo, UNINLU_CUBLASLT_ALGO_CONFIG_SPLITK_NUM, splits)
                            set(&algo, UNINLU_CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME,
                                splits > 1 ? reduction ?? 0 : UInt32(UNINLU_CUBLASLT_REDUCTION_SCHEME_NONE))
                            set(&algo, 8, cluster)  // CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID, uint16_t
                            checked += 1
                            var result = cublasLtMatmulHeuristicResult_t()
                            guard api.cublasLtMatmulAlgoCheck(handle, plan.desc, plan.a, plan.b, plan.c, plan.d, &algo, &result) == 0,
                                  result.state == 0, result.workspaceSize <= Self.workspaceBytes else { continue }
                            found.append(SearchedAlgorithm(
                                algo: algo, label: "id \(id) tile \(tile) stages \(stage) split \(splits) cluster \(cluster)"))
                        }
                    }
                }
            }
        }
        return (found, checked, false)
    }

    /// Times `configurations` (two runs each, then the finalists with the full count); the fastest
    /// with its µs a run, nil when none ran.
    func timeSearched(_ plan: Plan, _ operands: Operands, _ configurations: [SearchedAlgorithm])
        throws -> (best: SearchedAlgorithm, microseconds: Double, ranked: [(String, Double)])? {
        let repeats = autotuneRepeats
        defer { autotuneRepeats = repeats }
        autotuneRepeats = 2
        var quick: [(index: Int, micros: Double)] = []
        for (index, configuration) in configurations.enumerated() {
            var algo = configuration.algo
            if let micros = try time({ self.run(plan, algo: &algo, operands) == 0 }) { quick.append((index, micros)) }
        }
        autotuneRepeats = repeats
        var ranked: [(String, Double)] = []
        var best: (SearchedAlgorithm, Double)?
        for entry in quick.sorted(by: { $0.micros < $1.micros }).prefix(Self.searchFinalists) {
            var algo = configurations[entry.index].algo
            guard let micros = try time({ self.run(plan, algo: &algo, operands) == 0 }) else { continue }
            ranked.append((configurations[entry.index].label, micros))
            if micros < best?.1 ?? .infinity { best = (configurations[entry.index], micros) }
        }
        return best.map { ($0.0, $0.1, ranked) }
    }

    private func capability<T: FixedWidthInteger>(_ algo: cublasLtMatmulAlgo_t, _ attribute: Int32) -> T {
        var algo = algo, value = T.zero, written = 0
        _ = api.cublasLtMatmulAlgoCapGetAttribute(&algo, attribute, &value, MemoryLayout<T>.size, &written)
        return value
    }

    private func capabilityList(_ algo: cublasLtMatmulAlgo_t, _ attribute: Int32) -> [UInt32] {
        var algo = algo, written = 0
        guard api.cublasLtMatmulAlgoCapGetAttribute(&algo, attribute, nil, 0, &written) == 0, written >= 4 else { return [] }
        var list = [UInt32](repeating: 0, count: written / 4)
        guard api.cublasLtMatmulAlgoCapGetAttribute(&algo, attribute, &list, list.count * 4, &written) == 0 else { return [] }
        return list
    }

    private func set<T: FixedWidthInteger>(_ algo: inout cublasLtMatmulAlgo_t, _ attribute: Int32, _ value: T) {
        var value = value
        _ = api.cublasLtMatmulAlgoConfigSetAttribute(&algo, attribute, &value, MemoryLayout<T>.size)
    }
}
