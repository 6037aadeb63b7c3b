import CCUDA

// Dense layers through cuBLASLt: y[M×N] = act(x[M×K] · W[N×K]ᵀ + b) (+ residual), row-major, with
// FP16 operands and FP32 accumulation (FP32 operands under the fp32 policy). cuBLASLt is
// column-major, so we compute yᵀ = W · xᵀ: A = W (op T), B = x, C = residual, D = y, and the bias
// epilogue adds b along D's rows. Residual uses beta = 1 with C = residual. Each (M, N, K,
// epilogue, residual) gets descriptors once and an algorithm chosen by timing cuBLASLt's top
// heuristic candidates on the first call (a short autotune); shapes with no candidate report
// `false` so the caller runs the fallback kernel. Row counts of one class (`rowClass`) share that
// timing: a new M takes the algorithm timed for the first M of its class when
// cuBLASLt confirms it supports the new shape, so that a server meeting a new batch length does not
// stop to time candidates again.
//
// `partials` is the split-K form without an epilogue: K cut into `splits` equal slices, one
// strided-batched GEMM writing each slice's FP32 product, for a kernel of ours to sum with bias and
// residual and normalise (ResidualLayerNormKernel.swift): cuBLASLt's own split-K reduce is a
// separate ~4 µs kernel at 128 rows, and it cannot be fused with the LayerNorm that follows.

final class GemmEngine {
    /// One GEMM's operands. `bias` is nil for the partial products (no epilogue).
    struct Operands {
        let key: Key
        let x: CUdeviceptr, weight: CUdeviceptr
        let bias: CUdeviceptr?, residual: CUdeviceptr?
        let output: CUdeviceptr
    }

    enum Epilogue: Equatable {
        case bias
        case biasGelu
        var value: UInt32 { self == .bias ? UInt32(UNINLU_CUBLASLT_EPILOGUE_BIAS) : UInt32(UNINLU_CUBLASLT_EPILOGUE_GELU_BIAS) }
    }

    struct Key: Hashable {
        var m: Int, n: Int, k: Int
        var gelu: Bool
        var residual: Bool
        /// 0: the fused-epilogue GEMM. S ≥ 1: FP32 partial products of S slices of K (`partials`).
        var splits = 0
    }

    final class Plan {
        var desc: cublasLtMatmulDesc_t?
        var a: cublasLtMatrixLayout_t?, b: cublasLtMatrixLayout_t?, c: cublasLtMatrixLayout_t?, d: cublasLtMatrixLayout_t?
        var algo: cublasLtMatmulAlgo_t?
        /// Each timed candidate ("cublaslt 0" .. in cuBLASLt's heuristic order) and its µs a run.
        var timings: [(candidate: String, microseconds: Double)] = []
        /// The row count whose timing chose `algo`, when it was not timed at this key's own.
        var timedAtRows: Int?
    }

    /// Row counts whose GEMMs share one timing: up to 128 rows, those up to the same power of two;
    /// above, each its own. Shared above 128 rows, the timing cost the forwards there: 8x200 with
    /// 14x128's (or 16x128's) algorithms 7-10% slower, 5x300 with 12x128's 2% (H200,
    /// bench/results/2026-12-04-gemm-row-classes-h200.txt); up to 128 rows it cost nothing measurable.
    static let sharedRowLimit = 128

    static func rowClass(_ m: Int) -> Int {
        guard m <= sharedRowLimit else { return m }
        return m <= 1 ? 1 : 1 << (Int.bitWidth - (m - 1).leadingZeroBitCount)
    }

    let api: BLASLtAPI
    let context: CUDAContext
    let precision: CUDAPrecision
    private var handle: cublasLtHandle_t?
    private let workspace: OwnedDeviceMemory
    private var preference: cublasLtMatmulPreference_t?
    var plans: [Key: Plan] = [:]
    var autotune = true
    /// Times every row count on its own (UNINLU_GEMM_TUNE=exact) instead of sharing a class's timing.
    var exactRowTuning = getenvString("UNINLU_GEMM_TUNE") == "exact"
    /// Candidates timed per shape (cuBLASLt's heuristic order otherwise); UNINLU_GEMM_CANDIDATES sets it
    /// (1 to 16). Timing 12 instead of 6 gave the same forwards at 1x128 and 16x128 on an H200
    /// (scripts/gpu/small-batch.sh, 2026-12-03), so the autotune stays short.
    var autotuneCandidates = GemmEngine.candidatesFromEnvironment ?? 6
    /// Timed runs per candidate, after one untimed run.
    var autotuneRepeats = 5
    /// Launched before each candidate's timed runs so that the host queues them all before the first
    /// starts (StreamHoldKernel.swift).
    var holdStream: ((_ runs: Int) throws -> Void)?

    static var candidatesFromEnvironment: Int? {
        guard let text = getenvString("UNINLU_GEMM_CANDIDATES"), let value = Int(text), (1...16).contains(value) else { return nil }
        return value
    }

    static let workspaceBytes = 32 << 20

    init(context: CUDAContext, precision: CUDAPrecision) throws {
        api = try BLASLtAPI.loadShared()
        self.context = context
        self.precision = precision
        workspace = try OwnedDeviceMemory(context: context, bytes: Self.workspaceBytes)
        try api.check(api.cublasLtCreate(&handle), "cublasLtCreate")
        try api.check(api.cublasLtMatmulPreferenceCreate(&preference), "cublasLtMatmulPreferenceCreate")
        var bytes = UInt64(Self.workspaceBytes)
        try api.check(
            api.cublasLtMatmulPreferenceSetAttribute(preference, Int32(UNINLU_CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES), &bytes, 8),
            "cublasLtMatmulPreferenceSetAttribute(max workspace)")
    }

    deinit {
        for plan in plans.values { destroy(plan) }
        if let preference { _ = api.cublasLtMatmulPreferenceDestroy(preference) }
        if let handle { _ = api.cublasLtDestroy(handle) }
    }

    private func destroy(_ plan: Plan) {
        for layout in [plan.a, plan.b, plan.c, plan.d] { if let layout { _ = api.cublasLtMatrixLayoutDestroy(layout) } }
        if let desc = plan.desc { _ = api.cublasLtMatmulDescDestroy(desc) }
    }

    var dataType: Int32 { precision == .fp16 ? Int32(UNINLU_CUDA_R_16F) : Int32(UNINLU_CUDA_R_32F) }

    func makePlan(_ key: Key) throws -> Plan {
        let plan = Plan()
        do {
            try api.check(api.cublasLtMatmulDescCreate(&plan.desc, Int32(UNINLU_CUBLAS_COMPUTE_32F), Int32(UNINLU_CUDA_R_32F)), "cublasLtMatmulDescCreate")
            var transA = Int32(UNINLU_CUBLAS_OP_T), transB = Int32(UNINLU_CUBLAS_OP_N)
            try api.check(api.cublasLtMatmulDescSetAttribute(plan.desc, Int32(UNINLU_CUBLASLT_MATMUL_DESC_TRANSA), &transA, 4), "set TRANSA")
            try api.check(api.cublasLtMatmulDescSetAttribute(plan.desc, Int32(UNINLU_CUBLASLT_MATMUL_DESC_TRANSB), &transB, 4), "set TRANSB")
            let t = dataType
            if key.splits > 0 {
                // Batch s: A = W[:, s·K/S ..], B = x[:, s·K/S ..] (same leading dimension K, offset K/S
                // elements), D = the s-th [m x n] FP32 block. The default epilogue: none.
                let slice = key.k / key.splits, outputType = Int32(UNINLU_CUDA_R_32F)
                try api.check(api.cublasLtMatrixLayoutCreate(&plan.a, t, UInt64(slice), UInt64(key.n), Int64(key.k)), "layout A")
                try api.check(api.cublasLtMatrixLayoutCreate(&plan.b, t, UInt64(slice), UInt64(key.m), Int64(key.k)), "layout B")
                try api.check(api.cublasLtMatrixLayoutCreate(&plan.c, outputType, UInt64(key.n), UInt64(key.m), Int64(key.n)), "layout C")
                try api.check(api.cublasLtMatrixLayoutCreate(&plan.d, outputType, UInt64(key.n), UInt64(key.m), Int64(key.n)), "layout D")
                try setBatch(plan.a, count: key.splits, offset: slice)
                try setBatch(plan.b, count: key.splits, offset: slice)
                try setBatch(plan.c, count: key.splits, offset: key.m * key.n)
                try setBatch(plan.d, count: key.splits, offset: key.m * key.n)
            } else {
                var epilogue = (key.gelu ? Epilogue.biasGelu : .bias).value
                try api.check(api.cublasLtMatmulDescSetAttribute(plan.desc, Int32(UNINLU_CUBLASLT_MATMUL_DESC_EPILOGUE), &epilogue, 4), "set EPILOGUE")
                try api.check(api.cublasLtMatrixLayoutCreate(&plan.a, t, UInt64(key.k), UInt64(key.n), Int64(key.k)), "layout A")
                try api.check(api.cublasLtMatrixLayoutCreate(&plan.b, t, UInt64(key.k), UInt64(key.m), Int64(key.k)), "layout B")
                try api.check(api.cublasLtMatrixLayoutCreate(&plan.c, t, UInt64(key.n), UInt64(key.m), Int64(key.n)), "layout C")
                try api.check(api.cublasLtMatrixLayoutCreate(&plan.d, t, UInt64(key.n), UInt64(key.m), Int64(key.n)), "layout D")
            }
        } catch {
            destroy(plan)
            throw error
        }
        return plan
    }

    private func setBatch(_ layout: cublasLtMatrixLayout_t?, count: Int, offset: Int) throws {
        var batches = Int32(count), stride = Int64(offset)
        try api.check(api.cublasLtMatrixLayoutSetAttribute(layout, Int32(UNINLU_CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT), &batches, 4), "set BATCH_COUNT")
        try api.check(api.cublasLtMatrixLayoutSetAttribute(layout, Int32(UNINLU_CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET), &stride, 8), "set STRIDED_BATCH_OFFSET")
    }

    private func setBias(_ plan: Plan, _ bias: CUdeviceptr) throws {
        var pointer = bias
        try api.check(api.cublasLtMatmulDescSetAttribute(plan.desc, Int32(UNINLU_CUBLASLT_MATMUL_DESC_BIAS_POINTER), &pointer, 8), "set BIAS_POINTER")
    }

    private func run(_ plan: Plan, algo: inout cublasLtMatmulAlgo_t, _ o: Operands) -> cublasStatus_t {
        var alpha: Float = 1, beta: Float = o.residual == nil ? 0 : 1
        return api.cublasLtMatmul(
            handle, plan.desc, &alpha, UnsafeRawPointer(bitPattern: UInt(o.weight)), plan.a, UnsafeRawPointer(bitPattern: UInt(o.x)), plan.b,
            &beta, UnsafeRawPointer(bitPattern: UInt(o.residual ?? o.output)), plan.c, UnsafeMutableRawPointer(bitPattern: UInt(o.output)), plan.d,
            &algo, UnsafeMutableRawPointer(bitPattern: UInt(workspace.pointer)), Self.workspaceBytes, context.stream)
    }

    /// Runs the layer; returns false when cuBLASLt has no algorithm for this shape.
    func linear(x: CUdeviceptr, weight: CUdeviceptr, bias: CUdeviceptr, residual: CUdeviceptr?, output: CUdeviceptr,
                m: Int, n: Int, k: Int, gelu: Bool) throws -> Bool {
        try runPlanned(
            Operands(key: Key(m: m, n: n, k: k, gelu: gelu, residual: residual != nil), x: x, weight: weight, bias: bias,
                     residual: residual, output: output),
            recorded: .gemm(shape: [m, n, k, gelu ? 1 : 0, residual == nil ? 0 : 1], pointers: [x, weight, bias, residual ?? 0, output]),
            call: "cublasLtMatmul(\(m)x\(n)x\(k))")
    }

    /// FP32 partial products of `x · Wᵀ` over `splits` equal slices of K, into `output` as [splits x
    /// m x n] floats (K a multiple of splits; slices of whole 16-byte rows). Returns false when
    /// cuBLASLt has no algorithm for the shape.
    func partials(x: CUdeviceptr, weight: CUdeviceptr, output: CUdeviceptr, m: Int, n: Int, k: Int, splits: Int) throws -> Bool {
        guard splits >= 1, k % splits == 0 else {
            throw CUDAError.shapeMismatch(op: "linear", detail: "K \(k) does not split into \(splits) slices")
        }
        return try runPlanned(
            Operands(key: Key(m: m, n: n, k: k, gelu: false, residual: false, splits: splits), x: x, weight: weight, bias: nil,
                     residual: nil, output: output),
            recorded: .gemm(shape: [m, n, k, 0, 0, splits], pointers: [x, weight, 0, 0, output]),
            call: "cublasLtMatmul(\(m)x\(n)x\(k), \(splits) slices)")
    }

    /// Under a recorder, logs or checks the op (patch mode issues nothing); else runs `key`'s plan,
    /// made and tuned at its first use.
    private func runPlanned(_ operands: Operands, recorded: RecordedStreamOp, call: @autoclosure () -> String) throws -> Bool {
        let key = operands.key
        if let recorder = context.recorder, try recorder.intercept(recorded) {
            return plans[key]?.algo != nil
        }
        let plan: Plan
        if let existing = plans[key] {
            plan = existing
        } else {
            plan = try makePlan(key)
            plans[key] = plan
            if let bias = operands.bias { try setBias(plan, bias) }
            if !reuseClassTiming(plan, key) { try choose(plan, operands) }
        }
        guard var algo = plan.algo else { return false }
        if let bias = operands.bias { try setBias(plan, bias) }
        try api.check(run(plan, algo: &algo, operands), call())
        return true
    }

    /// Takes the algorithm timed for another row count of `key`'s class (same N, K, epilogue and
    /// slices) when cuBLASLt accepts it for this shape. False: time this one.
    private func reuseClassTiming(_ plan: Plan, _ key: Key) -> Bool {
        guard autotune, !exactRowTuning else { return false }
        let rowClass = Self.rowClass(key.m)
        guard let (donorKey, donor) = plans.first(where: { other, candidate in
            other.m != key.m && Self.rowClass(other.m) == rowClass && other.n == key.n && other.k == key.k && other.gelu == key.gelu
                && other.residual == key.residual && other.splits == key.splits && candidate.algo != nil && candidate.timedAtRows == nil
        }), var algo = donor.algo else { return false }
        var result = cublasLtMatmulHeuristicResult_t()
        guard api.cublasLtMatmulAlgoCheck(handle, plan.desc, plan.a, plan.b, plan.c, plan.d, &algo, &result) == 0,
              result.state == 0, result.workspaceSize <= Self.workspaceBytes else { return false }
        plan.algo = algo
        plan.timedAtRows = donorKey.m
        return true
    }

    /// Picks the algorithm: cuBLASLt's heuristic candidates, each timed with events on the real
    /// operands (the output is rewritten identically by every run) as a graph replays them, the
    /// fastest kept. Without the autotune: cuBLASLt's first candidate.
    private func choose(_ plan: Plan, _ operands: Operands) throws {
        var results = [cublasLtMatmulHeuristicResult_t](repeating: cublasLtMatmulHeuristicResult_t(), count: 16)
        var returned: Int32 = 0
        let status = api.cublasLtMatmulAlgoGetHeuristic(
            handle, plan.desc, plan.a, plan.b, plan.c, plan.d, preference, Int32(results.count), &results, &returned)
        let usable = status == 0 ? results.prefix(Int(returned)).filter { $0.state == 0 && $0.workspaceSize <= Self.workspaceBytes } : []
        plan.algo = usable.first?.algo
        guard autotune, usable.count > 1 else { return }
        var best = Double.infinity
        for (index, candidate) in usable.prefix(autotuneCandidates).enumerated() {
            var algo = candidate.algo
            guard let micros = try time({ self.run(plan, algo: &algo, operands) == 0 }) else { continue }
            plan.timings.append(("cublaslt \(index)", micros))
            guard micros < best else { continue }
            best = micros
            plan.algo = candidate.algo
        }
    }

    /// Microseconds a run of `body` takes: one untimed run, then `autotuneRepeats` queued behind a
    /// stream hold. Nil when a run reports failure.
    private func time(_ body: () throws -> Bool) throws -> Double? {
        guard try body() else { return nil }
        let start = try context.makeEvent(), end = try context.makeEvent()
        try holdStream?(autotuneRepeats)
        try start.record()
        var failed = false
        for _ in 0..<autotuneRepeats where try !body() { failed = true }
        try end.record()
        try end.synchronize()
        return failed ? nil : try end.milliseconds(since: start) * 1000 / Double(autotuneRepeats)
    }
}

// Tuned choices travel in engine plans: cublasLtMatmulAlgo_t is 64 trivially copyable bytes, valid
// for the same cuBLASLt version (the plan records it and the loader checks).
extension GemmEngine {
    func exportTuned() -> [(key: Key, algo: [UInt8])] {
        plans.compactMap { key, plan in
            plan.algo.map { algo in (key, withUnsafeBytes(of: algo) { Array($0) }) }
        }
    }

    func importTuned(key: Key, algo bytes: [UInt8]) throws {
        guard bytes.count == MemoryLayout<cublasLtMatmulAlgo_t>.size else { return }
        guard plans[key] == nil else { return }
        let plan = try makePlan(key)
        var algo = cublasLtMatmulAlgo_t()
        withUnsafeMutableBytes(of: &algo) { $0.copyBytes(from: bytes) }
        plan.algo = algo
        plans[key] = plan
    }
}
