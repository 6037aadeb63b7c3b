import Logging
import UniNLUPipelines

/// The path every prediction takes after its request is parsed and validated: admission (429 when
/// full), the per-request deadline (504; queued work is dropped), the predictor, readiness
/// bookkeeping and the per-phase timings.
struct InferenceGate: Sendable {
    let predictor: any Predictor
    let admission: AdmissionControl
    let readiness: Readiness
    let metrics: ServerMetrics
    let settings: ServerSettings

    struct Outcome: Sendable {
        var results: [ExtractionResult]
        var timings: RequestTimings.Snapshot
        var elapsed: Duration
    }

    /// Runs `items` concurrently (so they batch together) and returns their results in order.
    func run(_ items: [PredictRequest]) async throws -> Outcome {
        guard admission.tryAdmit(items.count) else {
            throw ServerError.overloaded(capacity: admission.capacity, retryAfterSeconds: settings.retryAfterSeconds)
        }
        defer { admission.release(items.count) }
        let start = ContinuousClock.now
        let timings = RequestTimings()
        let results = try await withDeadline(settings.requestTimeout) { [predictor] in
            try await withThrowingTaskGroup(of: (Int, ExtractionResult).self) { group in
                for (index, item) in items.enumerated() {
                    group.addTask {
                        let result = try await predictor.predict(
                            text: item.text, schema: item.schema, outputAllPrefix: item.outputAllPrefix, timings: timings)
                        return (index, result)
                    }
                }
                var results = [ExtractionResult?](repeating: nil, count: items.count)
                for try await (index, result) in group { results[index] = result }
                return results.compactMap { $0 }
            }
        }
        readiness.recordForward(succeeded: true)
        let elapsed = ContinuousClock.now - start
        let snapshot = timings.snapshot(total: elapsed)
        metrics.recordPhases(snapshot)
        return Outcome(results: results, timings: snapshot, elapsed: elapsed)
    }

    /// Races `body` against the deadline; the loser is cancelled.
    private func withDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    throw ServerError.deadlineExceeded(timeout)
                }
                return value
            }
        } catch let error as ServerError {
            throw error
        } catch let error as SchemaError {
            throw ServerError.schema(error, field: nil)
        } catch {
            let mapped = ServerError.classify(error)
            if case .engineFailure = mapped { readiness.recordForward(succeeded: false) }
            throw mapped
        }
    }
}
