import Hummingbird
import NIOCore
import Logging
import ServiceLifecycle

/// The wiring of the server, called by `uninlu serve` and by the tests alike.
public enum ServerApp {
    /// The router with every route and middleware: request id (outermost, so its log line and
    /// header cover everything), body limit, metrics, errors (innermost, so that metrics see the
    /// status of error responses).
    public static func buildRouter(
        predictor: any Predictor, settings: ServerSettings, metrics: ServerMetrics, readiness: Readiness
    ) -> Router<ServerRequestContext> {
        let router = Router(context: ServerRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: BodyLimitMiddleware(maxBodyBytes: settings.maxBodyBytes))
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ErrorMiddleware(metrics: metrics))
        let gate = InferenceGate(
            predictor: predictor, admission: AdmissionControl(capacity: settings.maxConcurrentRequests),
            readiness: readiness, metrics: metrics, settings: settings)
        PredictRoutes(gate: gate, settings: settings).register(on: router)
        HealthRoutes(predictor: predictor, readiness: readiness).register(on: router)
        MetricsRoute(metrics: metrics).register(on: router)
        OpenAPIRoute().register(on: router)
        return router
    }

    /// The application: the predictor's services (its batch scheduler) run before the HTTP server
    /// in the same ServiceGroup, so at shutdown the server stops first and the scheduler drains
    /// after it. Warm-up (one real prediction) runs before the socket opens.
    ///
    /// - Parameter onServerRunning: called with the bound port (useful with port 0).
    public static func buildApplication(
        predictor: any Predictor, settings: ServerSettings, metrics: ServerMetrics, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let readiness = Readiness()
        metrics.setModelInfo(predictor.info)
        let router = buildRouter(predictor: predictor, settings: settings, metrics: metrics, readiness: readiness)
        var app = Application(
            router: router,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "uninlu"),
            services: predictor.services,
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? settings.port
                logger.notice("listening", metadata: ["host": .string(settings.host), "port": .stringConvertible(port)])
                await onServerRunning(port)
            },
            logger: logger)
        app.beforeServerStarts {
            let start = ContinuousClock.now
            try await readiness.check(predictor)
            logger.info("model warmed up", metadata: [
                "family": .string(predictor.info.family), "backend": .string(predictor.info.backend),
                "precision": .string(predictor.info.precision), "replicas": .stringConvertible(predictor.info.replicas),
                "devices": .string(predictor.info.devicesLabel),
                "warmup_ms": .stringConvertible((ContinuousClock.now - start).milliseconds),
            ])
        }
        return app
    }

    /// Runs `app` until SIGTERM or SIGINT, then shuts down gracefully: the server stops accepting,
    /// in-flight requests finish (up to `shutdownTimeout`, after which they are cancelled), the
    /// scheduler drains, and this returns (exit 0).
    public static func run(_ app: some ApplicationProtocol, settings: ServerSettings, logger: Logger) async throws {
        var configuration = ServiceGroupConfiguration(
            services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = settings.shutdownTimeout
        try await ServiceGroup(configuration: configuration).run()
    }
}
