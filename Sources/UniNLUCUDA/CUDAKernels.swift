import CCUDA
import UniNLUCore

// The CUDA backend: every op of `EncoderKernels` on one GPU, one stream, FP16 activations and
// weights with FP32 accumulation and statistics (or FP32 throughout under `.fp32`). Kernels are
// ours (NVRTC, compiled for this device's architecture at start); dense layers go through cuBLASLt
// with fused bias / bias+GELU / residual epilogues. Use from one thread at a time (the model thread).

public final class CUDAKernels: EncoderKernels, @unchecked Sendable {
    // @unchecked: all mutable state (pool, staging, GEMM plans) is used from the model thread only.
    public typealias Activations = CUDAMatrix
    public typealias Linear = CUDALinear
    public typealias Norm = CUDANorm
    public typealias EmbeddingTable = CUDAEmbeddingTable

    public let context: CUDAContext
    public let precision: CUDAPrecision
    /// FP32 keeps the exact erf GELU (cuBLASLt bias epilogue, then our GELU); FP16 uses cuBLASLt's
    /// GELU epilogue (tanh form: |Δ| < 5e-4, under FP16 resolution at the values where it differs).
    public let exactGelu: Bool
    let gemm: GemmEngine
    let pool: DeviceMemoryPool
    let staging: PinnedStaging
    let weights: WeightArena
    let module: CUmodule
    private var functions: [String: CUfunction] = [:]
    /// The last packing's staged attention layout (reused by every layer of a forward).
    var attentionLayoutCache: AttentionOp.AttentionLayout?
    /// The last packing's staged DeBERTa attention layout (2-D mask, relative indices), shared by the layers.
    var disentangledLayoutCache: DisentangledAttentionOp.StagedLayout?
    /// FP16, head size 64: the tensor-core attention kernel (UNINLU_ATTENTION=scalar selects the
    /// FP32-FMA kernel instead; `uninlu check` runs both).
    public var tensorCoreAttention = getenvString("UNINLU_ATTENTION") != "scalar"
    /// FP16, head size 64: the tensor-core DeBERTa attention kernel (UNINLU_DEBERTA_ATTENTION=fma
    /// selects the FP32-FMA kernel; `uninlu check` runs both).
    public var tensorCoreDisentangledAttention = getenvString("UNINLU_DEBERTA_ATTENTION") != "fma"
    /// With the tensor-core DeBERTa kernel: K/V tiles staged in shared memory and read with ldmatrix
    /// (UNINLU_DEBERTA_ATTENTION=tc) instead of operands loaded straight from global memory (the default).
    public var stagedDisentangledAttention = getenvString("UNINLU_DEBERTA_ATTENTION") == "tc"
    /// With the tensor-core DeBERTa kernel and enough 64-query items to fill the GPU: the staged
    /// variant (11.1 ms against 11.9 at 128x128 on an H200; UNINLU_DEBERTA_ATTENTION=mma keeps the
    /// unstaged one there).
    public var stagedWideDisentangledAttention = getenvString("UNINLU_DEBERTA_ATTENTION") != "mma"
    /// With the staged wide kernel: the relative rows of each tile's window staged in shared memory
    /// too (disentangled_attention_tcr_d64; UNINLU_DEBERTA_ATTENTION=tc-global reads them from global
    /// memory, as disentangled_attention_tc_d64 does).
    public var relativeRowsStagedDisentangledAttention = getenvString("UNINLU_DEBERTA_ATTENTION") != "tc-global"
    /// With relative rows staged in the wide kernel: each tile's relative indices loaded and its rows
    /// staged by cp.async one tile ahead (disentangled_attention_tcp_d64; UNINLU_DEBERTA_ATTENTION=tcr
    /// stages them when the tile starts, as disentangled_attention_tcr_d64 does).
    public var pipelinedDisentangledAttention = getenvString("UNINLU_DEBERTA_ATTENTION") != "tcr"
    /// With the unstaged tensor-core DeBERTa kernel and too few 64-query items to fill the GPU (small
    /// batches): several warps split each 16-query item's keys instead of one warp taking them all
    /// (UNINLU_DEBERTA_ATTENTION=nosplit turns it off): 8 warps each staging its own K/V tile and
    /// relative rows (disentangled_attention_tcs_d64), or, with UNINLU_DEBERTA_ATTENTION=tc-global,
    /// 4 unstaged warps (disentangled_attention_mma_split_d64).
    public var splitDisentangledAttention = getenvString("UNINLU_DEBERTA_ATTENTION") != "nosplit"
    /// Replayable forwards (ReplayableGraph.swift): captured graphs by shape.
    let graphCache = GraphCache(policy: CUDAGraphPolicy())
    /// FP16, head size 64, too few 64-query items to fill the GPU: 4 warps split each 16-query item's
    /// keys (UNINLU_ATTENTION=nosplit: one warp per item).
    public var splitAttention = getenvString("UNINLU_ATTENTION") != "nosplit"
    /// FP16, head size 64, enough 64-query items to fill the GPU: each K/V tile staged once for the
    /// block's 4 warps, double-buffered (UNINLU_ATTENTION=perwarp: each warp stages its own).
    public var sharedTileAttention = getenvString("UNINLU_ATTENTION") != "perwarp"
    /// With shared tiles: 64 keys a tile (attention_tc_k64_d64; UNINLU_ATTENTION=tiles16 keeps the
    /// 16-key tiles of attention_tc_shared_d64).
    public var keyTile64Attention = getenvString("UNINLU_ATTENTION") != "tiles16"
    /// FP16, head size 64: the 64-query-block kernels (shared K/V tiles) run when (64-query items) ×
    /// heads reaches this; below it, the 16-query kernels (key split or one warp). 0 by default: the
    /// 64-key kernel measured faster at 1x128 and 4x128 and equal at 16x128 on an H200 (0.398 against
    /// 0.406 ms, 0.475 against 0.513). UNINLU_ATTENTION_WIDE_ITEMS=264 gives the earlier rule on 132 SMs.
    public var attentionWideItems = getenvString("UNINLU_ATTENTION_WIDE_ITEMS").flatMap(Int.init) ?? 0
    /// FP16, head size 64, DeBERTa: the wide (64-query, staged) kernels run when (64-query items) ×
    /// heads reaches this, else the split-key small-batch kernels. Default: half the SM count (4x128
    /// took 0.750 against 0.777 ms on an H200, 1x128 0.655 against 0.490);
    /// UNINLU_DEBERTA_WIDE_ITEMS overrides (twice the SM count was the earlier rule).
    public lazy var disentangledWideItems = getenvString("UNINLU_DEBERTA_WIDE_ITEMS").flatMap(Int.init) ?? context.info.multiprocessorCount / 2
    /// LayerNorm always by the block-per-row kernel (UNINLU_LAYERNORM=block; the check runs both).
    public var blockLayerNorm = getenvString("UNINLU_LAYERNORM") == "block"
    /// Rex pair scores with the earlier 16x16-tile kernel (UNINLU_PAIR_SCORES=tiles16) instead of 64x64 tiles.
    public var pairScoresTiles16 = getenvString("UNINLU_PAIR_SCORES") == "tiles16"
    /// `linearResidualNorm` may take split-K partial products summed by the LayerNorm kernel, where
    /// timing at first use says it is faster (UNINLU_RESIDUAL_NORM=unfused: always GEMM, then LayerNorm).
    public var fusedResidualNorm = getenvString("UNINLU_RESIDUAL_NORM") != "unfused"
    /// Forces the split count of `linearResidualNorm` (0: unfused) where the shape allows it, instead
    /// of the timed choice (`uninlu check`; UNINLU_RESIDUAL_NORM=S for S in 1, 2, 3, 4, 6, 8).
    public var forcedResidualNormSplits: Int? = getenvString("UNINLU_RESIDUAL_NORM").flatMap(Int.init)
        .flatMap { ResidualLayerNormKernel.candidateSplits.contains($0) ? $0 : nil }
    /// The timed split count per shape, rows rounded up to a power of two (ResidualLayerNormKernel.swift; 0: unfused).
    var residualNormSplits: [ResidualLayerNormOp.Shape: Int] = [:]
    /// Each timed candidate per shape (split count, 0 unfused; µs a run), for `uninlu bench`'s log.
    var residualNormTimings: [ResidualLayerNormOp.Shape: [(splits: Int, microseconds: Double)]] = [:]
    /// Seconds spent compiling the kernel library with NVRTC at start.
    public let compileSeconds: Double
    public let cubinBytes: Int

    public init(context: CUDAContext, precision: CUDAPrecision, cubin: [UInt8]? = nil) throws {
        try context.makeCurrent()
        guard precision == .fp32 || context.info.supportsFP16 else {
            throw CUDAError.unsupportedDevice(name: context.info.name, computeCapability: "\(context.info.computeCapability)", reason: "FP16 needs compute capability 7.0+")
        }
        self.context = context
        self.precision = precision
        exactGelu = precision == .fp32
        let image: [UInt8]
        let started = MonotonicClock.now()
        if let cubin {
            image = cubin
        } else {
            image = try KernelCompiler().compile(
                source: KernelLibrary.source(fp16: precision == .fp16), name: "uninlu_kernels_\(precision.rawValue).cu",
                architecture: context.info.architecture)
        }
        compileSeconds = MonotonicClock.seconds(since: started)
        cubinBytes = image.count
        module = try context.loadModule(image: image)
        for name in KernelLibrary.names { functions[name] = try context.function(module, named: name) }
        let optin = context.info.maxSharedMemoryPerBlockOptin
        // The FMA attention kernels use dynamic shared memory only (no static shared memory), so their
        // limit is the opt-in maximum. (The other tensor-core kernels use static shared memory: raising
        // their dynamic limit to the opt-in maximum would exceed it.)
        let dynamicShared = AttentionKernel.headSizes.map { "attention_d\($0)" } + DisentangledAttentionKernel.headSizes.map { "disentangled_attention_d\($0)" }
        for name in dynamicShared where optin > 48 << 10 {
            try context.setMaxDynamicSharedMemory(functions[name]!, bytes: optin)
        }
        // The staged-relative-rows DeBERTa kernel: exactly its 65 KB (an older GPU without that much
        // opt-in shared memory keeps the other kernels; see DisentangledAttentionOp).
        for name in ["disentangled_attention_tcr_d64", "disentangled_attention_tcp_d64"]
        where optin >= DisentangledAttentionKernel.relativeStagedBlockBytes {
            if let f = functions[name] { try context.setMaxDynamicSharedMemory(f, bytes: DisentangledAttentionKernel.relativeStagedBlockBytes) }
        }
        // Its small-batch split-key form: 148 KB.
        if optin >= DisentangledAttentionKernel.splitStagedBlockBytes, let f = functions["disentangled_attention_tcs_d64"] {
            try context.setMaxDynamicSharedMemory(f, bytes: DisentangledAttentionKernel.splitStagedBlockBytes)
        }
        pool = DeviceMemoryPool(context: context)
        weights = WeightArena(context: context)
        staging = try PinnedStaging(context: context)
        gemm = try GemmEngine(context: context, precision: precision)
        gemm.holdStream = { [unowned self] runs in try self.holdStream(runs: runs) }
    }

    /// Every GEMM tuned so far at M rows: ("NxK", plus " gelu", " residual" or " S slices"; the
    /// autotune's timing of each candidate, empty where it timed none; the row count whose timing it
    /// took instead, GemmEngine.rowClass), sorted.
    public func gemmTimings(rows m: Int) -> [(shape: String, timings: [(candidate: String, microseconds: Double)], timedAtRows: Int?)] {
        gemm.plans.filter { $0.key.m == m }.map { key, plan in
            var shape = "\(key.n)x\(key.k)"
            if key.gelu { shape += " gelu" }
            if key.residual { shape += " residual" }
            if key.splits > 0 { shape += " \(key.splits) slices" }
            return (shape, plan.timings, plan.timedAtRows)
        }.sorted { $0.shape < $1.shape }
    }

    /// The row count whose autotune chose the fused-epilogue GEMM of this shape at `m` rows: `m`
    /// itself, another row count of its class (GemmEngine.rowClass), or nil before its first use.
    public func gemmTimedAtRows(rows m: Int, out n: Int, in k: Int, gelu: Bool, residual: Bool) -> Int? {
        guard let plan = gemm.plans[GemmEngine.Key(m: m, n: n, k: k, gelu: gelu, residual: residual)] else { return nil }
        return plan.timedAtRows ?? m
    }

    /// The kernel library compiled for `context`'s device: the cubin a plan stores.
    public static func compileLibrary(for info: CUDADeviceInfo, precision: CUDAPrecision) throws -> [UInt8] {
        try KernelCompiler().compile(
            source: KernelLibrary.source(fp16: precision == .fp16), name: "uninlu_kernels_\(precision.rawValue).cu",
            architecture: info.architecture)
    }

    var elementSize: Int { precision.elementSize }

    func function(_ name: String) -> CUfunction { functions[name]! }

    public var autotune: Bool {
        get { gemm.autotune }
        set { gemm.autotune = newValue }
    }

    public var reservedActivationBytes: Int { pool.reservedBytes }

    /// Reserves device memory for `elements` weight values in `tensors` tensors (one allocation, so
    /// the weights cost no per-tensor rounding). Call before the makeLinear/makeNorm/... calls.
    public func reserveWeights(elements: Int, tensors: Int) throws {
        try context.makeCurrent()
        // 256-byte alignment per tensor; 1 MiB covers the FP32 LayerNorm parameters under FP16.
        try weights.reserve(bytes: elements * elementSize + tensors * 512 + (1 << 20))
    }

    // MARK: host <-> device

    func makeMatrix(rows: Int, columns: Int) throws -> CUDAMatrix {
        CUDAMatrix(rows: rows, columns: columns, buffer: try pool.allocate(bytes: max(rows * columns, 1) * elementSize))
    }

    /// FP32 host values into a new device buffer of the activation type.
    private func uploadConverted(_ values: [Float], into destination: CUdeviceptr) throws {
        guard !values.isEmpty else { return }
        if precision == .fp32 {
            try values.withUnsafeBytes { try context.copy(toDevice: destination, from: $0.baseAddress!, bytes: $0.count) }
            return
        }
        let temporary = try OwnedDeviceMemory(context: context, bytes: values.count * 4)
        try values.withUnsafeBytes { try context.copy(toDevice: temporary.pointer, from: $0.baseAddress!, bytes: $0.count) }
        try launchConvert("convert_f32_to_act", source: temporary.pointer, destination: destination, count: values.count)
        try context.synchronize()
        staging.reset()
    }

    private func launchConvert(_ name: String, source: CUdeviceptr, destination: CUdeviceptr, count: Int) throws {
        let threads = 256
        let blocks = min((count + threads - 1) / threads, 65_535)
        try context.launch(function(name), name: name, grid: (blocks, 1, 1), block: (threads, 1, 1),
                           [.pointer(source), .pointer(destination), .int64(Int64(count))])
    }

    /// An activation from host FP32 values (tests, checks and benchmarks).
    public func upload(_ values: [Float], rows: Int, columns: Int) throws -> CUDAMatrix {
        guard values.count == rows * columns else {
            throw CUDAError.shapeMismatch(op: "upload", detail: "\(values.count) values for \(rows)x\(columns)")
        }
        let matrix = try makeMatrix(rows: rows, columns: columns)
        try uploadConverted(values, into: matrix.pointer)
        return matrix
    }

    private func ownedUpload(_ values: [Float], asActivationType: Bool) throws -> ArenaSlice {
        let memory = try weights.allocate(bytes: max(values.count, 1) * (asActivationType ? elementSize : 4))
        if asActivationType {
            try uploadConverted(values, into: memory.pointer)
        } else {
            try values.withUnsafeBytes { try context.copy(toDevice: memory.pointer, from: $0.baseAddress!, bytes: $0.count) }
        }
        return memory
    }

    private func stage<T>(_ values: [T]) throws -> DeviceBuffer {
        let buffer = try pool.allocate(bytes: max(values.count * MemoryLayout<T>.stride, 1))
        try values.withUnsafeBytes { try staging.upload($0, to: buffer.pointer) }
        return buffer
    }

    // MARK: EncoderKernels: weights

    public func makeLinear(weight: [Float], bias: [Float], outFeatures: Int, inFeatures: Int) throws -> CUDALinear {
        guard weight.count == outFeatures * inFeatures, bias.count == outFeatures else {
            throw CUDAError.shapeMismatch(op: "linear", detail: "weight \(weight.count), bias \(bias.count) for \(outFeatures)x\(inFeatures)")
        }
        try context.makeCurrent()
        return CUDALinear(outFeatures: outFeatures, inFeatures: inFeatures,
                          weight: try ownedUpload(weight, asActivationType: true), bias: try ownedUpload(bias, asActivationType: true))
    }

    public func makeNorm(gamma: [Float], beta: [Float], epsilon: Float) throws -> CUDANorm {
        guard gamma.count == beta.count, !gamma.isEmpty else {
            throw CUDAError.shapeMismatch(op: "layerNorm", detail: "gamma \(gamma.count) vs beta \(beta.count)")
        }
        try context.makeCurrent()
        return CUDANorm(width: gamma.count, epsilon: epsilon, parameters: try ownedUpload(gamma + beta, asActivationType: false))
    }

    public func makeEmbeddingTable(_ table: [Float], rows: Int, width: Int) throws -> CUDAEmbeddingTable {
        guard table.count == rows * width else {
            throw CUDAError.shapeMismatch(op: "embedding", detail: "\(table.count) values for \(rows)x\(width)")
        }
        try context.makeCurrent()
        return CUDAEmbeddingTable(rows: rows, width: width, values: try ownedUpload(table, asActivationType: true))
    }

    // MARK: EncoderKernels: ops

    public func embed(tables: [CUDAEmbeddingTable], ids: [[Int32]], norm: CUDANorm) throws -> CUDAMatrix {
        try EmbeddingOp.run(self, tables: tables, ids: ids, norm: norm)
    }

    public func linear(_ x: CUDAMatrix, _ layer: CUDALinear, activation: LinearActivation, residual: CUDAMatrix?) throws -> CUDAMatrix {
        try LinearOp.run(self, x, layer, activation: activation, residual: residual)
    }

    public func layerNorm(_ x: CUDAMatrix, _ norm: CUDANorm) throws -> CUDAMatrix {
        try LayerNormOp.run(self, x, norm)
    }

    /// The split counts `linearResidualNorm` times for this shape (empty: it always runs unfused).
    public func residualNormSplitCandidates(rows: Int, out: Int, in inFeatures: Int) -> [Int] {
        guard fusedResidualNorm, ResidualLayerNormKernel.kernel(width: out) != nil, rows > 0 else { return [] }
        return ResidualLayerNormKernel.splits(rows: rows, out: out, in: inFeatures, elementSize: elementSize)
    }

    /// The timed split count for this shape, once chosen (0: unfused).
    public func residualNormChoice(rows: Int, out: Int, in inFeatures: Int) -> Int? {
        residualNormSplits[ResidualLayerNormOp.Shape(rows: rows, out: out, in: inFeatures)]
    }

    /// The timing behind `residualNormChoice`: each candidate's split count (0: unfused) and µs a run;
    /// empty when the choice was forced, read from a plan, or not made yet.
    public func residualNormTimings(rows: Int, out: Int, in inFeatures: Int) -> [(splits: Int, microseconds: Double)] {
        residualNormTimings[ResidualLayerNormOp.Shape(rows: rows, out: out, in: inFeatures)] ?? []
    }

    public func linearResidualNorm(_ x: CUDAMatrix, _ layer: CUDALinear, residual: CUDAMatrix, _ norm: CUDANorm) throws -> CUDAMatrix {
        try ResidualLayerNormOp.run(self, x, layer, residual: residual, norm)
    }

    public func attention(qkv: CUDAMatrix, sequences: PackedSequences, heads: Int, headSize: Int) throws -> CUDAMatrix {
        try AttentionOp.run(self, qkv: qkv, sequences: sequences, heads: heads, headSize: headSize)
    }

    public func gatherRows(_ sources: [CUDAMatrix], segments: [RowSegment]) throws -> CUDAMatrix {
        try GatherRowsOp.run(self, sources, segments: segments)
    }

    public func rowCount(_ x: CUDAMatrix) -> Int { x.rows }

    public func download(_ x: CUDAMatrix) throws -> [Float] {
        let count = x.rows * x.columns
        guard count > 0 else { return [] }
        var result = [Float](repeating: 0, count: count)
        if precision == .fp32 {
            try result.withUnsafeMutableBytes { try context.copy(toHost: $0.baseAddress!, from: x.pointer, bytes: $0.count) }
        } else {
            let temporary = try pool.allocate(bytes: count * 4)
            try launchConvert("convert_act_to_f32", source: x.pointer, destination: temporary.pointer, count: count)
            try result.withUnsafeMutableBytes { try context.copy(toHost: $0.baseAddress!, from: temporary.pointer, bytes: $0.count) }
        }
        staging.reset()
        return result
    }

    /// Waits for the stream (benchmarks); resets the staging arena.
    public func synchronize() throws {
        try context.synchronize()
        staging.reset()
    }

    // Shared by the op files.
    func stageInt32(_ values: [Int32]) throws -> DeviceBuffer { try stage(values) }
    func stageUInt8(_ values: [UInt8]) throws -> DeviceBuffer { try stage(values) }
    func stageUInt64(_ values: [UInt64]) throws -> DeviceBuffer { try stage(values) }
    func stageFloat(_ values: [Float]) throws -> DeviceBuffer { try stage(values) }

    /// A pooled FP32 scratch buffer of `count` floats (whatever the activation precision).
    func allocateFloats(_ count: Int) throws -> DeviceBuffer { try pool.allocate(bytes: max(count, 1) * 4) }

    /// `count` FP32 values of a device buffer to the host (synchronizes the stream).
    func downloadFloats(_ buffer: DeviceBuffer, count: Int) throws -> [Float] {
        guard count > 0 else { return [] }
        // No zero-fill first: the copy writes every element (Rex's Z is 8 MB at 128x128).
        let result = try [Float](unsafeUninitializedCapacity: count) { values, initialized in
            initialized = 0
            guard let address = values.baseAddress else { return }
            try context.copy(toHost: UnsafeMutableRawPointer(address), from: buffer.pointer, bytes: count * MemoryLayout<Float>.stride)
            initialized = count
        }
        staging.reset()
        return result
    }
}

extension CUDAKernels {
    /// The GEMM algorithms chosen so far, and the split counts of `linearResidualNorm` (entries with
    /// "residual_norm_splits" and no "algo"), as plan JSON entries.
    public func exportTunedGemms() -> [JSONValue] {
        let gemms: [JSONValue] = gemm.exportTuned().map { entry in
            .object([
                ("m", .number(Double(entry.key.m))), ("n", .number(Double(entry.key.n))), ("k", .number(Double(entry.key.k))),
                ("gelu", .bool(entry.key.gelu)), ("residual", .bool(entry.key.residual)), ("splits", .number(Double(entry.key.splits))),
                ("algo", .string(Base64.encode(entry.algo))),
            ])
        }
        let norms: [JSONValue] = residualNormSplits.sorted { ($0.key.m, $0.key.n, $0.key.k) < ($1.key.m, $1.key.n, $1.key.k) }.map { shape, splits in
            .object([
                ("m", .number(Double(shape.m))), ("n", .number(Double(shape.n))), ("k", .number(Double(shape.k))),
                ("residual_norm_splits", .number(Double(splits))),
            ])
        }
        return gemms + norms
    }

    /// Seeds the GEMM choices from a plan (entries that do not parse are skipped: they re-tune).
    public func importTunedGemms(_ entries: [JSONValue]) throws {
        try context.makeCurrent()
        for entry in entries {
            guard let m = entry["m"]?.intValue, let n = entry["n"]?.intValue, let k = entry["k"]?.intValue else { continue }
            if let splits = entry["residual_norm_splits"]?.intValue {
                if splits == 0 || ResidualLayerNormKernel.candidateSplits.contains(splits) {
                    residualNormSplits[ResidualLayerNormOp.Shape(rows: m, out: n, in: k)] = splits
                }
                continue
            }
            guard let gelu = entry["gelu"]?.boolValue, let residual = entry["residual"]?.boolValue,
                  let text = entry["algo"]?.stringValue, let bytes = Base64.decode(text) else { continue }
            let splits = entry["splits"]?.intValue ?? 0
            guard splits == 0 || (splits > 0 && k % splits == 0) else { continue }
            try gemm.importTuned(key: .init(m: m, n: n, k: k, gelu: gelu, residual: residual, splits: splits), algo: bytes)
        }
    }
}

/// Minimal base64 (RFC 4648) so that this target needs no Foundation.
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int(((b0 & 3) << 4) | (b1 >> 4))])
            out.append(i + 1 < bytes.count ? alphabet[Int(((b1 & 15) << 2) | (b2 >> 6))] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(b2 & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var lookup = [UInt8](repeating: 255, count: 256)
        for (i, c) in alphabet.enumerated() { lookup[Int(c)] = UInt8(i) }
        let chars = Array(text.utf8).filter { $0 != UInt8(ascii: "=") }
        var out: [UInt8] = []
        var buffer: UInt32 = 0, bits = 0
        for c in chars {
            let v = lookup[Int(c)]
            guard v != 255 else { return nil }
            buffer = (buffer << 6) | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }
}
