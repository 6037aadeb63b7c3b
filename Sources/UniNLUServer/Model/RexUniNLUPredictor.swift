import ServiceLifecycle
import UniNLUCore
import UniNLUPipelines
import UniNLUText

/// RexUniNLU behind the batch scheduler: each request builds its own pipeline whose forward is the
/// shared scheduler, so the token-pair jobs of concurrent requests share forwards (as SiameseUIE's
/// encode and hint jobs do). Rex options are upstream's defaults (`RexUniNLUOptions()`).
struct RexUniNLUPredictor: Predictor {
    let info: ModelInfo
    let limits: InputLimits
    let tokenizer: BertTokenizer
    let scheduler: BatchScheduler

    var services: [any Service] { [scheduler] }

    func predict(text: String, schema: Schema, outputAllPrefix: Bool, timings: RequestTimings) async throws -> ExtractionResult {
        let pipeline = RexUniNLUPipeline(
            tokenizer: tokenizer, forward: TimedRexForward(scheduler: scheduler, timings: timings), limits: limits)
        return try await pipeline.predict(text: text, schema: schema)
    }
}

/// The forward one Rex request's pipeline sees: the shared scheduler, with this request's queue
/// and engine time recorded as its jobs complete.
struct TimedRexForward: RexUniNLUForward {
    let scheduler: BatchScheduler
    let timings: RequestTimings

    func tokenPairLogits(_ jobs: [RexForwardJob]) async throws -> [RexTokenPairLogits] {
        let (logits, timing) = try await scheduler.rex(jobs)
        timings.add(timing)
        return logits
    }
}
