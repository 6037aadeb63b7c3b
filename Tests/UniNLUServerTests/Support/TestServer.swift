import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import UniNLUCore
import UniNLUEngine
@testable import UniNLUServer

// Starts the real application (the same buildApplication `uninlu serve` calls) on 127.0.0.1, port
// 0, inside a ServiceGroup, and talks to it with AsyncHTTPClient over real sockets.

struct RunningServer: Sendable {
    let port: Int
    let metrics: ServerMetrics
    let engines: [ControllableEngine]
    let client: HTTPClient
    let serviceGroup: ServiceGroup

    var baseURL: String { "http://127.0.0.1:\(port)" }

    var engine: ControllableEngine { engines[0] }
}

enum TestServer {
    static var testSettings: ServerSettings {
        var settings = ServerSettings()
        settings.host = "127.0.0.1"
        settings.port = 0
        // Debug builds on two shared cores are slow; only the deadline test wants a short one.
        settings.requestTimeout = .seconds(600)
        return settings
    }

    static let logger: Logger = {
        var logger = Logger(label: "uninlu.test")
        logger.logLevel = ProcessInfo.processInfo.environment["UNINLU_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
        return logger
    }()

    /// The fixture model behind the batch scheduler, each replica's engine wrapped for control.
    static func makePredictor(
        _ settings: ServerSettings, replicas: Int, metrics: ServerMetrics
    ) throws -> (any Predictor, [ControllableEngine]) {
        let model = try ServerFixtures.loadModel()
        guard let pipeline = model.siameseUIE else { throw TestError("fixture model has no SiameseUIE pipeline") }
        let engines = (0..<replicas).map { _ in ControllableEngine(pipeline.forward) }
        let info = try ModelInfo(replicas: Array(repeating: model, count: replicas))
        let predictor = PredictorFactory.siameseUIE(
            engines: engines, tokenizer: model.tokenizer, info: info, limits: settings.limits,
            policy: settings.batchPolicy, metrics: metrics)
        return (predictor, engines)
    }

    /// The router the application serves, without a server.
    static func withRouter(_ settings: ServerSettings) throws -> Router<ServerRequestContext> {
        let metrics = ServerMetrics()
        let (predictor, _) = try makePredictor(settings, replicas: 1, metrics: metrics)
        return ServerApp.buildRouter(predictor: predictor, settings: settings, metrics: metrics, readiness: Readiness())
    }

    /// Runs `body` against a live server; shuts it down gracefully afterwards and waits for it.
    static func with<T: Sendable>(
        _ settings: ServerSettings = testSettings, replicas: Int = 1, connections: Int = 8,
        _ body: @Sendable (RunningServer) async throws -> T
    ) async throws -> T {
        let metrics = ServerMetrics()
        let (predictor, engines) = try makePredictor(settings, replicas: replicas, metrics: metrics)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = ServerApp.buildApplication(
            predictor: predictor, settings: settings, metrics: metrics, logger: logger,
            onServerRunning: { portContinuation.yield($0) })
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connections
        // Waiting for a pooled connection counts against the connect timeout; debug builds are slow.
        configuration.timeout.connect = .seconds(300)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let result = try await withThrowingTaskGroup(of: T?.self) { tasks in
                tasks.addTask {
                    try await group.run()
                    return nil
                }
                var iterator = ports.makeAsyncIterator()
                guard let port = await iterator.next() else { throw TestError("server did not start") }
                let server = RunningServer(port: port, metrics: metrics, engines: engines, client: client, serviceGroup: group)
                // Always stop gracefully: cancelling a server while clients still connect trips an
                // assertion inside NIO's async channel (seen with a failing body).
                let result: T
                do { result = try await body(server) } catch {
                    await group.triggerGracefulShutdown()
                    throw error
                }
                await group.triggerGracefulShutdown()
                var value: T?
                for try await item in tasks { if let item { value = item } }
                return value ?? result
            }
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

struct TestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
