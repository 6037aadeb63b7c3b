import Hummingbird
import UniNLUCore

/// `POST /predict` and `POST /predict/batch`.
struct PredictRoutes {
    let gate: InferenceGate
    let settings: ServerSettings

    func register(on router: Router<ServerRequestContext>) {
        router.post("predict") { request, context in try await predict(request, context: context) }
        router.post("predict/batch") { request, context in try await predictBatch(request, context: context) }
    }

    func predict(_ request: Request, context: ServerRequestContext) async throws -> Response {
        let body = try await JSONBody.read(request, context: context)
        let item = try PredictRequest(json: body)
        try item.validate(against: settings.limits)
        let outcome = try await gate.run([item])
        guard let result = outcome.results.first else { throw ServerError.internalError("no result for the request") }
        return .json(PredictResponse.single(result, inferenceTime: outcome.elapsed),
                     headers: PredictResponse.timingHeaders(outcome.timings))
    }

    func predictBatch(_ request: Request, context: ServerRequestContext) async throws -> Response {
        let body = try await JSONBody.read(request, context: context)
        let batch = try BatchPredictRequest(json: body, maxTexts: settings.maxBatchTexts)
        try batch.validate(against: settings.limits)
        let outcome = try await gate.run(batch.items)
        guard outcome.results.count == batch.items.count else {
            throw ServerError.internalError("\(outcome.results.count) results for \(batch.items.count) texts")
        }
        return .json(PredictResponse.batch(outcome.results, inferenceTime: outcome.elapsed),
                     headers: PredictResponse.timingHeaders(outcome.timings))
    }
}
