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
    var precision: Precision?
    @Option(help: """
        Comma-separated device indices; one engine replica per entry, batches spread over them (a text's hint \
        jobs stay on the replica that encoded it). With the CPU backend each entry is one more CPU replica \
        sharing the same cores (and one more copy of the weights); the CUDA backend takes device 0 only in \
        this build.
        """)
    var devices = "0"

    @OptionGroup var limitOptions: LimitOptions
    @Option(help: "Largest request body in bytes (413 above).") var maxBodyBytes = ServerSettings().maxBodyBytes
    @Option(help: "Texts admitted at once, running or queued (a batch request counts each text); 429 with Retry-After above.")
    var maxConcurrentRequests = ServerSettings().maxConcurrentRequests
    @Option(help: "Most texts in one /predict/batch request.") var maxBatchTexts = ServerSettings().maxBatchTexts
    @Option(help: """
        Token budget of one forward: rows of all jobs coalesced into it (a hint job costs hints × windows × \
        (window + hint length)). A single larger job runs alone.
        """)
    var maxBatchTokens = BatchPolicy().maxBatchTokens
    @Option(help: "How long the oldest queued job may wait for others while the engine is idle, in milliseconds (0: never wait).")
    var maxBatchWaitMs = 2.0
    @Option(help: "Per-request deadline from admission to answer, in milliseconds (504 past it).")
    var requestTimeoutMs = 30_000
    @Option(help: "At SIGTERM/SIGINT, how long in-flight requests may take to finish, in milliseconds.")
    var shutdownTimeoutMs = 30_000
    @Option(help: "Retry-After of a 429, in seconds.") var retryAfter = ServerSettings().retryAfterSeconds
    @Option(help: "Log level: trace | debug | info | notice | warning | error | critical.") var logLevel = "info"

    func validate() throws {
        for (name, value) in [("max-body-bytes", maxBodyBytes), ("max-concurrent-requests", maxConcurrentRequests),
                              ("max-batch-texts", maxBatchTexts), ("max-batch-tokens", maxBatchTokens),
                              ("request-timeout-ms", requestTimeoutMs), ("shutdown-timeout-ms", shutdownTimeoutMs)]
        where value <= 0 {
            throw ValidationError("--\(name) must be positive")
        }
        if !(0...65535).contains(port) { throw ValidationError("--port must be in 0...65535") }
        if maxBatchWaitMs < 0 || !maxBatchWaitMs.isFinite { throw ValidationError("--max-batch-wait-ms must be ≥ 0") }
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
            let settings = self.settings
            let metrics = ServerMetrics()
            // Resolve the backend first: which precisions and how many devices it can take.
            let backend = try modelOptions.backend.resolved()
            let precision = self.precision ?? (backend == .cuda ? .fp16 : .fp32)
            try PredictorFactory.check(precision: precision, backend: backend)
            let compute: ComputePrecision = precision == .fp32 ? .fp32 : .fp16  // the CUDA policies; ignored on the CPU
            let devices = try deviceList()
            if backend == .cuda && devices != [0] {
                // LoadedModel.load opens CUDA device 0; a replica per device needs it to take an ordinal.
                throw ServeConfigurationError.invalidDevices(
                    "this build runs the CUDA backend on device 0 only; give --devices 0 (or use --backend cpu for CPU replicas)")
            }
            var options = modelOptions
            options.backend = backend
            options.model = try modelOptions.modelURL().path
            let replicas = try devices.map { device in
                logger.info("loading model", metadata: [
                    "model": .string(options.model ?? "?"), "backend": .string(backend.rawValue), "device": .stringConvertible(device),
                ])
                return try options.load(limits: settings.limits, precision: compute)
            }
            let predictor = try PredictorFactory.make(
                replicas: replicas, precision: precision, limits: settings.limits, policy: settings.batchPolicy, metrics: metrics)
            let app = ServerApp.buildApplication(predictor: predictor, settings: settings, metrics: metrics, logger: logger)
            try await ServerApp.run(app, settings: settings, logger: logger)
            logger.info("stopped")
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
    }

    var settings: ServerSettings {
        var settings = ServerSettings()
        settings.host = host
        settings.port = port
        settings.limits = limitOptions.limits
        settings.maxBodyBytes = maxBodyBytes
        settings.maxConcurrentRequests = maxConcurrentRequests
        settings.maxBatchTexts = maxBatchTexts
        settings.batchPolicy = BatchPolicy(
            maxBatchTokens: maxBatchTokens, maxBatchWait: .microseconds(Int64((maxBatchWaitMs * 1000).rounded())))
        settings.requestTimeout = .milliseconds(requestTimeoutMs)
        settings.shutdownTimeout = .milliseconds(shutdownTimeoutMs)
        settings.retryAfterSeconds = retryAfter
        return settings
    }

    func deviceList() throws -> [Int] {
        let entries = devices.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var list: [Int] = []
        for entry in entries {
            guard let index = Int(entry), index >= 0 else {
                throw ValidationError("--devices takes comma-separated device indices (e.g. 0,1), found \"\(entry)\"")
            }
            if list.contains(index) { throw ValidationError("--devices lists device \(index) twice") }
            list.append(index)
        }
        if list.isEmpty { throw ValidationError("--devices lists no device") }
        return list
    }
}

extension Precision: ExpressibleByArgument {}
