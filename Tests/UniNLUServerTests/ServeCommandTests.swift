import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import UniNLUCore

// The real `uninlu serve` binary: flags, start-up, a request over loopback, SIGTERM → exit 0.

final class ServerProcess: @unchecked Sendable {
    // @unchecked: `stderrText` is only touched under `lock`.
    let process = Process()
    private let lock = NSLock()
    private var stderrText = ""

    static var binary: URL {
        let candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(), Bundle.main.bundleURL]
        for folder in candidates {
            var dir = folder
            for _ in 0..<4 {
                let url = dir.appendingPathComponent("uninlu")
                if FileManager.default.isExecutableFile(atPath: url.path) { return url }
                dir = dir.deletingLastPathComponent()
            }
        }
        return candidates[0].appendingPathComponent("uninlu")
    }

    init(_ arguments: [String]) throws {
        process.executableURL = Self.binary
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        err.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.withLock { self.stderrText += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    var stderr: String { lock.withLock { stderrText } }

    /// The port from the "listening" log line.
    func waitForPort(timeout: Duration = .seconds(600)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = stderr
            // Our own line ("host=… port=N … listening"), not Hummingbird's "listening on HOST:PORT".
            for line in text.split(separator: "\n") where line.contains("listening") {
                if let range = line.range(of: #"port=[0-9]+"#, options: .regularExpression),
                   let port = Int(line[range].dropFirst("port=".count)) {
                    return port
                }
            }
            if !process.isRunning { throw TestError("server exited early: \(text)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestError("server did not log its port: \(stderr)")
    }

    /// Runs `body` with an HTTP client that is shut down afterwards; when `body` throws, the server is
    /// terminated first so that a failing test leaves no process behind.
    func withClient(_ body: (HTTPClient) async throws -> Void) async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await body(client)
        } catch {
            process.terminate()
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    func waitForExit(timeout: Duration = .seconds(300)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                throw TestError("server did not exit")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }
}

extension ServerTests {
    @Suite("uninlu serve (the binary)", .serialized)
    struct ServeCommandTests {
        @Test("starts, answers /predict on loopback, and exits 0 on SIGTERM with a request in flight")
        func sigterm() async throws {
            let server = try ServerProcess(["serve", "--model", ServerFixtures.modelDirectory.path, "--backend", "cpu", "--port", "0"])
            let port = try await server.waitForPort()
            try await server.withClient { client in
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/predict")
                request.method = .POST
                request.headers.add(name: "content-type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: #"{"text": "帮我定一张明天去上海的机票", "labels": ["出发地", "目的地", "时间", "订票意图"]}"#))
                let response = try await client.execute(request, timeout: .seconds(30))
                #expect(response.status.code == 200)
                let body = try JSONParser.parse(bytes: Array(try await response.body.collect(upTo: 1 << 20).readableBytesView))
                #expect(body["result"]?["output"] != nil)
                #expect(server.stderr.contains("request_id="), "structured request log with its id")

                // A batch request in flight when SIGTERM arrives is still answered.
                var batch = HTTPClientRequest(url: "http://127.0.0.1:\(port)/predict/batch")
                batch.method = .POST
                batch.headers.add(name: "content-type", value: "application/json")
                let texts = Array(repeating: "\"北京大学的张三在上海工作。\"", count: 16)  // small enough for a debug build
                batch.body = .bytes(ByteBuffer(string: #"{"texts": [\#(texts.joined(separator: ", "))], "labels": ["人物", "地点"]}"#))
                async let inFlight = client.execute(batch, timeout: .seconds(120))
                try await Task.sleep(for: .milliseconds(20))
                kill(server.process.processIdentifier, SIGTERM)
                let answered = try await inFlight
                #expect(answered.status.code == 200)
                #expect(try await server.waitForExit() == 0, "\(server.stderr)")
            }
        }

        @Test("two CPU replicas from --devices 0,1: /ready and the info metric report what was loaded")
        func cpuReplicas() async throws {
            let server = try ServerProcess([
                "serve", "--model", ServerFixtures.modelDirectory.path, "--backend", "cpu", "--port", "0", "--devices", "0,1",
            ])
            let port = try await server.waitForPort()
            try await server.withClient { client in
                let ready = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/ready"), timeout: .seconds(60))
                #expect(ready.status.code == 200)
                let body = try JSONParser.parse(bytes: Array(try await ready.body.collect(upTo: 1 << 20).readableBytesView))
                #expect(body["model"]?["replicas"] == .number(2))
                #expect(body["model"]?["backend"] == .string("cpu"))
                #expect(body["model"]?["precision"] == .string("fp32"))
                #expect(body["model"]?["devices"] == .array([]))
                let metrics = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(60))
                let text = String(buffer: try await metrics.body.collect(upTo: 1 << 22))
                #expect(MetricsText(text).value("uninlu_model_info", ["backend": "cpu", "precision": "fp32", "replicas": "2", "devices": "cpu"]) == 1)
                kill(server.process.processIdentifier, SIGTERM)
                #expect(try await server.waitForExit() == 0, "\(server.stderr)")
            }
        }

        @Test("--precision fp16 on the CPU backend is refused with a message", arguments: [
            (["--precision", "fp16"], "the cpu backend cannot run --precision fp16; it supports fp32"),
            (["--precision", "bf16"], "it supports fp32"),
            (["--precision", "fp64"], "--precision"),
            (["--devices", "0,-1"], "found \"-1\""),
            (["--devices", "0,x"], "--devices"),
            (["--max-batch-tokens", "0"], "--max-batch-tokens must be positive"),
        ])
        func badFlags(_ flags: [String], message: String) async throws {
            let server = try ServerProcess(["serve", "--model", ServerFixtures.modelDirectory.path, "--backend", "cpu", "--port", "0"] + flags)
            let status = try await server.waitForExit()
            #expect(status != 0)
            #expect(server.stderr.contains(message), "\(server.stderr)")
        }
    }
}
