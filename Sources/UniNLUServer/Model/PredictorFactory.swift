import UniNLUCore
import UniNLUEngine
import UniNLUPipelines
import UniNLUText

/// Builds the predictor for the family of the loaded replicas (one `LoadedModel` per device, all
/// loaded from the same model). The switch is exhaustive over `ModelFamily`: a new family must say
/// here how it is served.
public enum PredictorFactory {
    /// The predictor for `replicas`; what it reports (`info`) is read off the replicas themselves.
    public static func make(
        replicas: [LoadedModel], limits: InputLimits, policy: BatchPolicy, metrics: ServerMetrics
    ) throws -> any Predictor {
        let info = try ModelInfo(replicas: replicas)
        guard let first = replicas.first else { throw ServeConfigurationError.noReplicas }
        metrics.watchCUDAGraphs(of: replicas)
        switch first.family {
        case .siameseUIE:
            let pipelines = replicas.compactMap(\.siameseUIE)
            guard pipelines.count == replicas.count else { throw EngineError.familyNotImplemented(.siameseUIE) }
            return siameseUIE(engines: pipelines.map(\.forward), tokenizer: first.tokenizer, info: info, limits: limits,
                              policy: policy, metrics: metrics)
        case .rexUniNLU:
            let pipelines = replicas.compactMap(\.rexUniNLU)
            guard pipelines.count == replicas.count, let tokenizer = pipelines.first?.tokenizer else {
                throw EngineError.familyNotImplemented(.rexUniNLU)
            }
            return rexUniNLU(engines: pipelines.map(\.forward), tokenizer: tokenizer, info: info, limits: limits,
                             policy: policy, metrics: metrics)
        }
    }

    /// RexUniNLU over the given engines, one per replica (tests pass instrumented engines here).
    static func rexUniNLU(
        engines: [any RexUniNLUForward], tokenizer: BertTokenizer, info: ModelInfo, limits: InputLimits,
        policy: BatchPolicy, metrics: ServerMetrics
    ) -> any Predictor {
        let scheduler = BatchScheduler(rexEngines: engines, policy: policy, metrics: metrics.scheduler)
        return RexUniNLUPredictor(info: info, limits: limits, tokenizer: tokenizer, scheduler: scheduler)
    }

    /// SiameseUIE over the given engines, one per replica (tests pass instrumented engines here).
    static func siameseUIE(
        engines: [any SiameseUIEForward], tokenizer: BertTokenizer, info: ModelInfo, limits: InputLimits,
        policy: BatchPolicy, metrics: ServerMetrics
    ) -> any Predictor {
        let scheduler = BatchScheduler(engines: engines, policy: policy, metrics: metrics.scheduler)
        return SiameseUIEPredictor(info: info, limits: limits, tokenizer: tokenizer, scheduler: scheduler)
    }
}

/// A server that cannot be started as configured; the CLI prints the message and exits non-zero.
/// (A precision the backend does not run is the engine's `EngineError.unsupportedPrecision`.)
public enum ServeConfigurationError: Error, CustomStringConvertible {
    case noReplicas
    case invalidDevices(String)
    case mixedReplicas(String)

    public var description: String {
        switch self {
        case .noReplicas: return "no engine replica was loaded (--devices lists none)"
        case let .invalidDevices(reason): return "invalid --devices: \(reason)"
        case let .mixedReplicas(reason): return "the replicas differ (\(reason)); every --devices entry must load the same model the same way"
        }
    }
}
