import UniNLUCore
import UniNLUEngine
import UniNLUPipelines
import UniNLUText

/// Builds the predictor for the family of the loaded replicas (one `LoadedModel` per device, all
/// loaded from the same model). The switch is exhaustive over `ModelFamily`: a new family must say
/// here how it is served.
public enum PredictorFactory {
    public static func make(
        replicas: [LoadedModel], precision: Precision, limits: InputLimits, policy: BatchPolicy, metrics: ServerMetrics
    ) throws -> any Predictor {
        guard let first = replicas.first else { throw ServeConfigurationError.noReplicas }
        let backend = first.backend
        try check(precision: precision, backend: backend)
        let info = ModelInfo(
            family: first.family.rawValue, backend: backend.rawValue, precision: precision.rawValue,
            replicas: replicas.count, directory: first.directory.url.path)
        switch first.family {
        case .siameseUIE:
            let pipelines = replicas.compactMap(\.siameseUIE)
            guard pipelines.count == replicas.count else { throw EngineError.familyNotImplemented(.siameseUIE) }
            return siameseUIE(engines: pipelines.map(\.forward), tokenizer: first.tokenizer, info: info, limits: limits,
                              policy: policy, metrics: metrics)
        case .rexUniNLU:
            // Rex runs through its own pipeline, one request per call, spread over the replicas; no
            // cross-request batching yet (its forward seam would get a scheduler like SiameseUIE's).
            return ReplicaPredictor(info: info, limits: limits, replicas: replicas)
        }
    }

    /// SiameseUIE over the given engines, one per replica (tests pass instrumented engines here).
    static func siameseUIE(
        engines: [any SiameseUIEForward], tokenizer: BertTokenizer, info: ModelInfo, limits: InputLimits,
        policy: BatchPolicy, metrics: ServerMetrics
    ) -> any Predictor {
        let scheduler = BatchScheduler(engines: engines, policy: policy, metrics: metrics.scheduler)
        return SiameseUIEPredictor(info: info, limits: limits, tokenizer: tokenizer, scheduler: scheduler)
    }

    /// What each (resolved) backend can run: the CPU backend is the FP32 reference; CUDA runs
    /// fp16 and fp32.
    public static func supportedPrecisions(_ backend: Backend) -> [Precision] {
        switch backend {
        case .auto, .cpu: return [.fp32]
        case .cuda: return [.fp16, .fp32]
        }
    }

    /// Checks `precision` against the resolved backend before anything is loaded.
    public static func check(precision: Precision, backend: Backend) throws {
        let supported = supportedPrecisions(backend)
        guard supported.contains(precision) else {
            throw ServeConfigurationError.unsupportedPrecision(precision, backend: backend.rawValue, supported: supported)
        }
    }
}

/// A server that cannot be started as configured; the CLI prints the message and exits non-zero.
public enum ServeConfigurationError: Error, CustomStringConvertible {
    case noReplicas
    case unsupportedPrecision(Precision, backend: String, supported: [Precision])
    case invalidDevices(String)

    public var description: String {
        switch self {
        case .noReplicas: return "no engine replica was loaded (--devices lists none)"
        case let .unsupportedPrecision(precision, backend, supported):
            return "the \(backend) backend cannot run --precision \(precision.rawValue); it supports \(supported.map(\.rawValue).joined(separator: ", "))"
        case let .invalidDevices(reason): return "invalid --devices: \(reason)"
        }
    }
}
