import Foundation
import Logging
import UniNLUPipelines

// Ready means: the model is loaded and a real forward has succeeded (the warm-up before the socket
// opens), and the last forward did not fail. After a failure, /ready runs a real one-label forward
// again before answering (TEI's health check).

public final class Readiness: @unchecked Sendable {
    // @unchecked: the flags are only touched under `lock`.
    private let lock = NSLock()
    private var warmedUp = false
    private var lastForwardFailed = false

    public init() {}

    var isReady: Bool {
        lock.lock()
        defer { lock.unlock() }
        return warmedUp && !lastForwardFailed
    }

    func recordForward(succeeded: Bool) {
        lock.lock()
        lastForwardFailed = !succeeded
        lock.unlock()
    }

    /// Runs one real prediction through the whole path (scheduler, engine, decoding).
    func check(_ predictor: any Predictor) async throws {
        do {
            _ = try await predictor.predict(
                text: "健康检查", schema: Schema(labels: ["检查"]), outputAllPrefix: false, timings: RequestTimings())
        } catch {
            recordForward(succeeded: false)
            throw error
        }
        lock.withLock {
            warmedUp = true
            lastForwardFailed = false
        }
    }
}
