import ServiceLifecycle
import UniNLUPipelines

/// What the HTTP layer asks of a served model family: one text and schema in, the upstream result
/// out. Each family provides one (SiameseUIE now; RexUniNLU plugs in the same way with its own
/// forward seam and scheduler) and ``PredictorFactory`` picks it from the loaded model's family.
public protocol Predictor: Sendable {
    var info: ModelInfo { get }
    /// The limits the pipeline enforces, checked by the routes before a request is admitted.
    var limits: InputLimits { get }
    /// Services the predictor needs running (its batch scheduler), in dependency order.
    var services: [any Service] { get }
    func predict(text: String, schema: Schema, outputAllPrefix: Bool, timings: RequestTimings) async throws -> ExtractionResult
}
