import Foundation
import UniNLUCheckpoint
import UniNLUCore
import UniNLUCPU
import UniNLUCUDA
import UniNLUModels
import UniNLUPipelines
import UniNLUText

// Loading a model directory into a ready pipeline: the one function the CLI, the server and the
// tests all call.

public struct LoadedModel: Sendable {
    public let directory: ModelDirectory
    public let backend: Backend
    public let tokenizer: BertTokenizer
    public let siameseUIE: SiameseUIEPipeline?
    public private(set) var rexUniNLU: RexUniNLUPipeline? = nil
    /// The precision the forward really runs in (fp32 on the CPU backend; a plan's own precision).
    public internal(set) var precision: ComputePrecision = .fp32
    /// The CUDA device ordinal the replica runs on; nil on the CPU backend.
    public internal(set) var device: Int? = nil
    /// With `fp16RecheckMargin`: how many hints the FP32 reference re-ran, of how many.
    public internal(set) var recheckCounters: RecheckCounters? = nil
    /// On CUDA: the engine's graph cache (replays, captures, …); nil on the CPU backend.
    var graphStatistics: (any CUDAGraphStatistics)? = nil

    public var family: ModelFamily { directory.family }

    /// Loads `url` (a model directory, or an engine plan file from `uninlu build`) on `backend`.
    ///
    /// - Parameters:
    ///   - precision: nil for the backend's default (fp16 on CUDA, fp32 on the CPU); one the
    ///     resolved backend does not run is refused (`EngineError.unsupportedPrecision`).
    ///   - device: the CUDA device ordinal (one replica per device: its own context, stream and model
    ///     thread). Ignored on the CPU backend; a device the machine lacks is
    ///     `EngineError.deviceUnavailable`.
    ///   - fp16RecheckMargin: SiameseUIE on the CUDA FP16 engine only: also load the model in FP32 on
    ///     the same device and re-run every hint with a logit within this margin of the threshold
    ///     there (RecheckedSiameseUIEForward.swift). Anywhere else it is refused.
    ///   - graphPolicy: on CUDA, when repeated forward shapes are captured and replayed as CUDA graphs
    ///     (CUDAKernels+Graphs.swift); ignored on the CPU backend.
    public static func load(
        modelDirectory url: URL, backend: Backend = .auto, precision: ComputePrecision? = nil, device: Int = 0,
        limits: InputLimits = InputLimits(), fp16RecheckMargin: Float? = nil, graphPolicy: CUDAGraphPolicy = CUDAGraphPolicy()
    ) throws -> LoadedModel {
        if let margin = fp16RecheckMargin, !(margin.isFinite && margin >= 0) {
            throw EngineError.recheckNotApplicable(reason: "the margin must be a number ≥ 0, not \(margin)")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            if fp16RecheckMargin != nil {
                throw EngineError.recheckNotApplicable(reason: "engine plans are not supported; give the model directory")
            }
            return try load(plan: url, precision: precision, device: device, limits: limits, graphPolicy: graphPolicy)  // an engine plan (`uninlu build`)
        }
        let directory = try ModelDirectory(url: url)
        let resolved = try backend.resolved()
        switch directory.family {
        case .siameseUIE:
            let precision = try resolved.checkedPrecision(precision)
            let tokenizer = try loadTokenizer(directory)
            let configuration = try directory.decodeConfig(BertConfiguration.self)
            let forward: any SiameseUIEForward
            var counters: RecheckCounters?
            var statistics: (any CUDAGraphStatistics)?
            if resolved == .cuda {
                try checkDevice(device)
                // The context, its stream and the weights belong to this replica; from here on the
                // model is used only on its model thread (which makes the context current per call).
                func cudaForward(_ precision: ComputePrecision) throws -> CUDASiameseUIEForward {
                    let kernels = try CUDAKernels(context: CUDAContext(ordinal: device), precision: precision.cuda())
                    kernels.graphPolicy = graphPolicy
                    let reader = try Checkpoint.open(modelDirectory: url)
                    try kernels.reserveWeights(for: reader, ignoring: SiameseUIEModel<CUDAKernels>.ignoredTensorNames)
                    let model = try SiameseUIEModel(configuration: configuration, kernels: kernels, store: TensorStore(reader))
                    return CUDASiameseUIEForward(model: model, device: device)
                }
                if let margin = fp16RecheckMargin {
                    guard precision == .fp16 else {
                        throw EngineError.recheckNotApplicable(reason: "it re-checks the FP16 engine, and this one runs \(precision.rawValue)")
                    }
                    // The reference: the same weights in FP32, its own context on the same device.
                    let fast = try cudaForward(precision)
                    statistics = fast
                    let rechecked = RecheckedSiameseUIEForward(
                        fast: fast, reference: try cudaForward(.fp32),
                        threshold: Float(SiameseUIEOptions().threshold), margin: margin)
                    counters = rechecked.counters
                    forward = rechecked
                } else {
                    let cuda = try cudaForward(precision)
                    statistics = cuda
                    forward = cuda
                }
            } else {
                if fp16RecheckMargin != nil {
                    throw EngineError.recheckNotApplicable(reason: "it re-checks the CUDA FP16 engine; the CPU backend runs FP32 already")
                }
                let store = TensorStore(try Checkpoint.open(modelDirectory: url))
                forward = CPUSiameseUIEForward(model: try SiameseUIEModel(configuration: configuration, kernels: CPUKernels(), store: store))
            }
            let pipeline = SiameseUIEPipeline(tokenizer: tokenizer, forward: forward, limits: limits)
            var model = LoadedModel(directory: directory, backend: resolved, tokenizer: tokenizer, siameseUIE: pipeline)
            model.precision = precision
            model.device = resolved == .cuda ? device : nil
            model.recheckCounters = counters
            model.graphStatistics = statistics
            return model
        case .rexUniNLU:
            if fp16RecheckMargin != nil {
                throw EngineError.recheckNotApplicable(reason: "it applies to SiameseUIE models; this is a RexUniNLU model")
            }
            let precision = try resolved.checkedPrecision(precision)
            let tokenizer = try loadTokenizer(directory)
            let configuration = try directory.decodeConfig(DebertaV2Configuration.self)
            let forward: any RexUniNLUForward
            var statistics: (any CUDAGraphStatistics)?
            if resolved == .cuda {
                try checkDevice(device)
                let kernels = try CUDAKernels(context: CUDAContext(ordinal: device), precision: precision.cuda())
                kernels.graphPolicy = graphPolicy
                let reader = try Checkpoint.open(modelDirectory: url)
                try kernels.reserveWeights(for: reader, ignoring: [])
                let cuda = CUDARexUniNLUForward(
                    model: try RexUniNLUModel(configuration: configuration, kernels: kernels, store: TensorStore(reader)), device: device)
                statistics = cuda
                forward = cuda
            } else {
                let store = TensorStore(try Checkpoint.open(modelDirectory: url))
                forward = CPURexUniNLUForward(model: try RexUniNLUModel(configuration: configuration, kernels: CPUKernels(), store: store))
            }
            let pipeline = RexUniNLUPipeline(tokenizer: tokenizer, forward: forward, limits: limits)
            var loaded = LoadedModel(directory: directory, backend: resolved, tokenizer: tokenizer, siameseUIE: nil, rexUniNLU: pipeline)
            loaded.precision = precision
            loaded.device = resolved == .cuda ? device : nil
            loaded.graphStatistics = statistics
            return loaded
        }
    }

    /// The CUDA graph cache's counters (nil on the CPU backend). Waits for the model thread.
    public func cudaGraphCounters() async throws -> CUDAGraphCounters? {
        try await graphStatistics?.graphCounters()
    }

    /// Throws `deviceUnavailable` unless this machine has CUDA device `device`.
    public static func checkDevice(_ device: Int) throws {
        let count = try CUDADriver.deviceCount()
        guard device >= 0, device < count else { throw EngineError.deviceUnavailable(device: device, deviceCount: count) }
    }

    /// The tokenizer the family uses: Rex adds its four prompt markers (ids 12800-12803 upstream).
    public static func loadTokenizer(_ directory: ModelDirectory) throws -> BertTokenizer {
        switch directory.family {
        case .siameseUIE: return try BertTokenizer.load(modelDirectory: directory.url)
        case .rexUniNLU:
            return try BertTokenizer.load(modelDirectory: directory.url, addedTokens: ["[PREFIX]", "[TYPE]", "[CLASSIFY]", "[MULTICLASSIFY]"])
        }
    }

    /// Runs one text + schema through the family's pipeline.
    public func predict(
        text: String, schema: Schema, outputAllPrefix: Bool = false, rexOptions: RexUniNLUOptions = RexUniNLUOptions()
    ) async throws -> ExtractionResult {
        try await predictWithWarnings(text: text, schema: schema, outputAllPrefix: outputAllPrefix, rexOptions: rexOptions).result
    }

    /// `predict`, plus what the pipeline left out to answer (`RexPrediction.warnings`: skipped prefixes
    /// and labels, as upstream does silently). SiameseUIE reports none.
    public func predictWithWarnings(
        text: String, schema: Schema, outputAllPrefix: Bool = false, rexOptions: RexUniNLUOptions = RexUniNLUOptions()
    ) async throws -> (result: ExtractionResult, warnings: [String]) {
        if let rexUniNLU {
            let prediction = try await rexUniNLU.predictWithWarnings(text: text, schema: schema, options: rexOptions)
            return (prediction.result, prediction.warnings)
        }
        guard let siameseUIE else { throw EngineError.familyNotImplemented(family) }
        let result = try await siameseUIE.predict(text: text, schema: schema, options: SiameseUIEOptions(outputAllPrefix: outputAllPrefix))
        return (result, [])
    }
}
