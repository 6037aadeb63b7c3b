import HTTPTypes
import Hummingbird
import UniNLUCore
import UniNLUPipelines

// Response bodies and the timing headers (TEI's x-*-time, in milliseconds like TEI's, to the microsecond).

enum PredictResponse {
    /// `{"result": {"output": [..]}, "inference_time": seconds}`: the FastAPI tutorial's shape.
    static func single(_ result: ExtractionResult, inferenceTime: Duration) -> JSONValue {
        .object([("result", result.json), ("inference_time", .number(inferenceTime.seconds))])
    }

    /// `{"results": [{"output": [..]}, ..], "inference_time": seconds}`, in input order.
    static func batch(_ results: [ExtractionResult], inferenceTime: Duration) -> JSONValue {
        .object([("results", .array(results.map(\.json))), ("inference_time", .number(inferenceTime.seconds))])
    }

    static func timingHeaders(_ timings: RequestTimings.Snapshot) -> HTTPFields {
        [
            .tokenizationTime: milliseconds(timings.outsideEngine),
            .queueTime: milliseconds(timings.queue),
            .inferenceTime: milliseconds(timings.forward),
            .totalTime: milliseconds(timings.total),
        ]
    }

    /// Milliseconds with microsecond resolution ("0.412").
    private static func milliseconds(_ duration: Duration) -> String {
        String(Double((duration.seconds * 1_000_000).rounded()) / 1000)
    }
}

extension HTTPField.Name {
    /// Time in the pipeline outside the engine: tokenization, windowing and span decoding.
    static let tokenizationTime = Self("x-tokenization-time")!
    static let queueTime = Self("x-queue-time")!
    static let inferenceTime = Self("x-inference-time")!
    static let totalTime = Self("x-total-time")!
}
