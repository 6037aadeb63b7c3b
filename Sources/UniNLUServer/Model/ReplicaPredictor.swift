import Foundation
import ServiceLifecycle
import UniNLUEngine
import UniNLUPipelines

/// A family served through `LoadedModel.predict` directly, each request on the next replica in
/// turn: no cross-request batching (the engine's own model thread serialises its forwards). Used
/// for RexUniNLU until its forward seam gets a batch scheduler.
struct ReplicaPredictor: Predictor {
    let info: ModelInfo
    let limits: InputLimits
    let replicas: [LoadedModel]
    private let next = RoundRobin()

    init(info: ModelInfo, limits: InputLimits, replicas: [LoadedModel]) {
        self.info = info
        self.limits = limits
        self.replicas = replicas
    }

    var services: [any Service] { [] }

    func predict(text: String, schema: Schema, outputAllPrefix: Bool, timings: RequestTimings) async throws -> ExtractionResult {
        let replica = replicas[next.take(modulo: replicas.count)]
        return try await replica.predict(text: text, schema: schema, outputAllPrefix: outputAllPrefix)
    }
}

/// A shared counter for round-robin choice.
final class RoundRobin: @unchecked Sendable {
    // @unchecked: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value = 0

    func take(modulo count: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        value = (value + 1) % max(count, 1)
        return value
    }
}
