import ServiceLifecycle
import UniNLUCore
import UniNLUEngine
import UniNLUPipelines
import UniNLUText

/// SiameseUIE behind the batch scheduler: each request builds its own pipeline (cheap: the
/// tokenizer is shared copy-on-write) whose forward is the shared scheduler.
struct SiameseUIEPredictor: Predictor {
    let info: ModelInfo
    let limits: InputLimits
    let tokenizer: BertTokenizer
    let scheduler: BatchScheduler

    var services: [any Service] { [scheduler] }

    func predict(text: String, schema: Schema, outputAllPrefix: Bool, timings: RequestTimings) async throws -> ExtractionResult {
        let pipeline = SiameseUIEPipeline(
            tokenizer: tokenizer, forward: TimedForward(scheduler: scheduler, timings: timings), limits: limits)
        return try await pipeline.predict(text: text, schema: schema, options: SiameseUIEOptions(outputAllPrefix: outputAllPrefix))
    }
}
