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

    public var family: ModelFamily { directory.family }

    public static func load(
        modelDirectory url: URL, backend: Backend = .auto, precision: ComputePrecision = .fp16, limits: InputLimits = InputLimits()
    ) throws -> LoadedModel {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            return try load(plan: url, limits: limits)  // an engine plan (`uninlu build`)
        }
        let directory = try ModelDirectory(url: url)
        let resolved = try backend.resolved()
        switch directory.family {
        case .siameseUIE:
            let tokenizer = try loadTokenizer(directory)
            let configuration = try directory.decodeConfig(BertConfiguration.self)
            let store = TensorStore(try Checkpoint.open(modelDirectory: url))
            let forward: any SiameseUIEForward
            if resolved == .cuda {
                let kernels = try CUDAKernels(context: CUDAContext(), precision: precision.cuda)
                let reader = try Checkpoint.open(modelDirectory: url)
                try kernels.reserveWeights(for: reader, ignoring: SiameseUIEModel<CUDAKernels>.ignoredTensorNames)
                forward = CUDASiameseUIEForward(model: try SiameseUIEModel(configuration: configuration, kernels: kernels, store: TensorStore(reader)))
            } else {
                forward = CPUSiameseUIEForward(model: try SiameseUIEModel(configuration: configuration, kernels: CPUKernels(), store: store))
            }
            let pipeline = SiameseUIEPipeline(tokenizer: tokenizer, forward: forward, limits: limits)
            return LoadedModel(directory: directory, backend: resolved, tokenizer: tokenizer, siameseUIE: pipeline)
        case .rexUniNLU:
            let tokenizer = try loadTokenizer(directory)
            let configuration = try directory.decodeConfig(DebertaV2Configuration.self)
            let forward: any RexUniNLUForward
            if resolved == .cuda {
                let kernels = try CUDAKernels(context: CUDAContext(), precision: precision.cuda)
                let reader = try Checkpoint.open(modelDirectory: url)
                try kernels.reserveWeights(for: reader, ignoring: [])
                forward = CUDARexUniNLUForward(model: try RexUniNLUModel(configuration: configuration, kernels: kernels, store: TensorStore(reader)))
            } else {
                let store = TensorStore(try Checkpoint.open(modelDirectory: url))
                forward = CPURexUniNLUForward(model: try RexUniNLUModel(configuration: configuration, kernels: CPUKernels(), store: store))
            }
            let pipeline = RexUniNLUPipeline(tokenizer: tokenizer, forward: forward, limits: limits)
            return LoadedModel(directory: directory, backend: resolved, tokenizer: tokenizer, siameseUIE: nil, rexUniNLU: pipeline)
        }
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
        if let rexUniNLU { return try await rexUniNLU.predict(text: text, schema: schema, options: rexOptions) }
        guard let siameseUIE else { throw EngineError.familyNotImplemented(family) }
        return try await siameseUIE.predict(text: text, schema: schema, options: SiameseUIEOptions(outputAllPrefix: outputAllPrefix))
    }
}
