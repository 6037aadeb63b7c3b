import ArgumentParser
import Foundation
import Logging
import UniNLUEngine
import UniNLUServer

// `uninlu serve`: parse flags, load one engine replica per device, hand everything to
// UniNLUServer (the same functions the tests call), run until SIGTERM/SIGINT.

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "HTTP service: POST /predict, /predict/batch; GET /health, /ready, /metrics, /openapi.json.",
        discussion: """
            uninlu serve --model DIR --port 8000
            curl -s localhost:8000/predict -H 'content-type: application/json' \\
                 -d '{"text": "帮我定一张明天去上海的机票", "labels": ["出发地", "目的地", "时间"]}'
            Limits, metrics and error codes: docs/server.md. SIGTERM/SIGINT: stop accepting, finish in-flight
            requests (up to --shutdown-timeout-ms), exit 0.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Address to bind.") var host = ServerSettings().host
    @Option(help: "Port to bind (0: any free port, printed in the log).") var port = ServerSettings().port
    @Option(help: """
        Numeric precision: fp32 | fp16 | bf16 | int8 | fp8. The CPU backend runs fp32 only, the CUDA backend \
        fp16 and fp32; others are refused at start-up. Default: fp16 on CUDA, fp32 on the CPU.
        """)
    var precision: ComputePrecision?
    @Option(help: """
        Comma-separated device indices; one engine replica per entry, batches spread over them (a text's hint \
        jobs stay on the replica that encoded it). CUDA: one replica per listed GPU (its own context, stream and \
        model thread); every index must exist, and may repeat (0,0: two replicas on GPU 0). CPU backend: each entry is one more CPU replica sharing the same \
        cores (and one more copy of the weights).
        """)
    var devices = "0"

    @OptionGroup var limitOptions: LimitOptions
    @Option(help: "Largest request body in bytes (413 above).") var maxBodyBytes = ServerSettings().maxBodyBytes
    @Option(help: "Texts admitted at once, running or queued (a batch request counts each text); 429 with Retry-After above.")
    var maxConcurrentRequests = ServerSettings().maxConcurrentRequests
    @Option(help: "Most texts in one /predict/batch request.") var maxBatchTexts = ServerSettings().maxBatchTexts
    @Option(help: """
        Token budget of one forward: rows of all jobs coalesced into it (a hint job costs hints × windows × \
        (window + hint length); a Rex job its tokens). A single larger job runs alone. Default: 16384.
        """)
    var maxBatchTokens: Int?
    @Option(help: """
        How long the oldest queued job may wait for others when the engine was idle, in milliseconds (0: never \
        wait; jobs queued during a forward never wait). Default: 2 on the CPU backend, 0.5 on CUDA.
        """)
    var maxBatchWaitMs: Double?
    @Option(help: "Per-request deadline from admission to answer, in milliseconds (504 past it).")
    var requestTimeoutMs = 30_000
    @Option(help: "At SIGTERM/SIGINT, how long in-flight requests may take to finish, in milliseconds.")
    var shutdownTimeoutMs = 30_000
    @Option(help: "Retry-After of a 429, in seconds.") var retryAfter = ServerSettings().retryAfterSeconds
    @Option(help: "Log level: trace | debug | info | notice | warning | error | critical.") var logLevel = "info"

    func validate() throws {
        for (name, value) in [("max-body-bytes", maxBodyBytes), ("max-concurrent-requests", maxConcurrentRequests),
                              ("max-batch-texts", maxBatchTexts), ("max-batch-tokens", maxBatchTokens ?? 1),
                              ("request-timeout-ms", requestTimeoutMs), ("shutdown-timeout-ms", shutdownTimeoutMs)]
        where value <= 0 {
            throw ValidationError("--\(name) must be positive")
        }
        if !(0...65535).contains(port) { throw ValidationError("--port must be in 0...65535") }
        if let maxBatchWaitMs, maxBatchWaitMs < 0 || !maxBatchWaitMs.isFinite { throw ValidationError("--max-batch-wait-ms must be ≥ 0") }
        if retryAfter < 0 { throw ValidationError("--retry-after must be ≥ 0") }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level \(logLevel) is not a log level") }
        _ = try deviceList()
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "uninlu.serve")
        do {
            // Resolve the backend first: which precisions and devices it can take, checked before loading.
            let backend = try modelOptions.backend.resolved()
            let settings = self.settings(for: backend)
            let metrics = ServerMetrics()
            let precision = try backend.checkedPrecision(self.precision)
            let devices = try DeviceList(parsing: self.devices)
            try devices.validate(backend: backend, cudaDeviceCount: backend == .cuda ? Backend.cudaDeviceCount() : 0)
            var options = modelOptions
            options.backend = backend
            options.model = try modelOptions.modelURL().path
            let replicas = try devices.devices.map { device in
                logger.info("loading model", metadata: [
                    "model": .string(options.model ?? "?"), "backend": .string(backend.rawValue),
                    "precision": .string(precision.rawValue), "device": .stringConvertible(device),
                ])
                return try options.load(limits: settings.limits, precision: precision, device: device)
            }
            let predictor = try PredictorFactory.make(
                replicas: replicas, limits: settings.limits, policy: settings.batchPolicy, metrics: metrics)
            logger.notice("serving", metadata: [
                "family": .string(predictor.info.family), "backend": .string(predictor.info.backend),
                "precision": .string(predictor.info.precision), "devices": .string(predictor.info.devicesLabel),
                "replicas": .stringConvertible(predictor.info.replicas),
                "max_batch_tokens": .stringConvertible(settings.batchPolicy.maxBatchTokens),
                "max_batch_wait_ms": .stringConvertible(Double(settings.batchPolicy.maxBatchWait.components.attoseconds) / 1e15
                    + Double(settings.batchPolicy.maxBatchWait.components.seconds) * 1000),
                "max_concurrent_requests": .stringConvertible(settings.maxConcurrentRequests),
            ])
            let app = ServerApp.buildApplication(predictor: predictor, settings: settings, metrics: metrics, logger: logger)
            try await ServerApp.run(app, settings: settings, logger: logger)
            logger.info("stopped")
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
    }

    /// The settings from the flags; batching flags left out take `backend`'s defaults.
    func settings(for backend: Backend) -> ServerSettings {
        var settings = ServerSettings()
        settings.host = host
        settings.port = port
        settings.limits = limitOptions.limits
        settings.maxBodyBytes = maxBodyBytes
        settings.maxConcurrentRequests = maxConcurrentRequests
        settings.maxBatchTexts = maxBatchTexts
        settings.batchPolicy = BatchPolicy.defaults(for: backend)
        if let maxBatchTokens { settings.batchPolicy.maxBatchTokens = maxBatchTokens }
        if let maxBatchWaitMs { settings.batchPolicy.maxBatchWait = .microseconds(Int64((maxBatchWaitMs * 1000).rounded())) }
        settings.requestTimeout = .milliseconds(requestTimeoutMs)
        settings.shutdownTimeout = .milliseconds(shutdownTimeoutMs)
        settings.retryAfterSeconds = retryAfter
        return settings
    }

    func deviceList() throws -> [Int] {
        do { return try DeviceList(parsing: devices).devices } catch { throw ValidationError("\(error)") }
    }
}
