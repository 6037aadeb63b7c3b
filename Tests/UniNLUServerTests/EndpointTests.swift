import Foundation
import Testing
import UniNLUCore
import UniNLUPipelines
@testable import UniNLUServer

extension ServerTests {
    @Suite("Endpoints of the live server")
    struct EndpointTests {
        static let ticketText = "帮我定一张明天去上海的机票"
        static let ticketLabels = ["出发地", "目的地", "时间", "订票意图"]

        @Test("POST /predict with labels answers {result: {output}, inference_time} equal to the pipeline alone")
        func predictWithLabels() async throws {
            let model = try ServerFixtures.loadModel()
            let expected = try await model.predict(text: Self.ticketText, schema: Schema(labels: Self.ticketLabels)).json
            try await TestServer.with { server in
                let response = try await server.post("/predict", json: .object([
                    ("text", .string(Self.ticketText)), ("labels", .array(Self.ticketLabels.map { .string($0) })),
                ]))
                #expect(response.status == 200)
                #expect(response.headers.first(name: "content-type")?.hasPrefix("application/json") == true)
                let body = try response.json()
                #expect(body["result"] == expected)
                #expect(body["result"]?["output"]?.arrayValue?.isEmpty == false, "the fixture model finds spans here")
                let inferenceTime = try #require(body["inference_time"]?.doubleValue)
                #expect(inferenceTime >= 0 && inferenceTime < 60)
                for header in ["x-request-id", "x-total-time", "x-queue-time", "x-inference-time", "x-tokenization-time"] {
                    #expect(response.headers.first(name: header) != nil, "missing \(header)")
                }
            }
        }

        @Test("POST /predict with the upstream fixture schemas (nested, string-encoded, all-prefix, two windows) equals the pipeline alone")
        func predictFixtureSchemas() async throws {
            let model = try ServerFixtures.loadModel()
            // Short texts, plus one two-window text: the long nested cases take minutes in a debug build.
            let cases = try ServerFixtures.cases().filter {
                $0.text.unicodeScalars.count <= 120 || $0.id == "sie_window_385_two_windows"
            }
            #expect(cases.count >= 20)
            var expected: [JSONValue] = []
            for item in cases { expected.append(try await item.aloneOutput(model)) }
            let expectedOutputs = expected
            try await TestServer.with { server in
                for (item, output) in zip(cases, expectedOutputs) {
                    let response = try await server.post("/predict", json: item.requestBody)
                    #expect(response.status == 200, "\(item.id): \(response.text)")
                    // Compare serialized text too: key order is part of the contract.
                    #expect(try response.json()["result"]?.serialized() == output.serialized(), "\(item.id)")
                }
            }
        }

        @Test("POST /predict/batch: texts with one schema, and inputs with one each, in input order")
        func batchEndpoint() async throws {
            let model = try ServerFixtures.loadModel()
            let cases = Array(try ServerFixtures.cases().prefix(6))
            var alone: [JSONValue] = []
            for item in cases { alone.append(try await item.aloneOutput(model)) }
            let schema = JSONValue.array(Self.ticketLabels.map { .string($0) })
            var sharedAlone: [JSONValue] = []
            for item in cases { sharedAlone.append(try await model.predict(text: item.text, schema: Schema(labels: Self.ticketLabels)).json) }
            let expectedEach = alone, expectedShared = sharedAlone
            try await TestServer.with { server in
                let shared = try await server.post("/predict/batch", json: .object([
                    ("texts", .array(cases.map { .string($0.text) })), ("labels", schema),
                ]))
                #expect(shared.status == 200, "\(shared.text)")
                #expect(try shared.json()["results"] == .array(expectedShared))
                #expect(try shared.json()["inference_time"]?.doubleValue != nil)

                let each = try await server.post("/predict/batch", json: .object([("inputs", .array(cases.map(\.requestBody)))]))
                #expect(each.status == 200, "\(each.text)")
                #expect(try each.json()["results"] == .array(expectedEach))
            }
        }

        @Test("GET /health and GET /ready answer 200 with JSON once the model is warmed up")
        func healthAndReady() async throws {
            try await TestServer.with { server in
                let health = try await server.get("/health")
                #expect(health.status == 200)
                #expect(try health.json()["status"] == .string("ok"))
                let ready = try await server.get("/ready")
                #expect(ready.status == 200)
                let body = try ready.json()
                #expect(body["status"] == .string("ready"))
                #expect(body["model"]?["family"] == .string("siamese-uie"))
                #expect(body["model"]?["backend"] == .string("cpu"))
                #expect(body["model"]?["precision"] == .string("fp32"))
                #expect(body["model"]?["devices"] == .array([]), "no CUDA device on the CPU backend")
                #expect(server.engine.callCount >= 2, "warm-up ran a real forward (encode + hints)")
            }
        }

        @Test("x-request-id: a sane client id is echoed, otherwise a fresh one is given")
        func requestID() async throws {
            try await TestServer.with { server in
                let echoed = try await server.request(.GET, "/health", contentType: nil, headers: [("x-request-id", "client-42.a_b")])
                #expect(echoed.headers.first(name: "x-request-id") == "client-42.a_b")
                let replaced = try await server.request(.GET, "/health", contentType: nil, headers: [("x-request-id", "bad id!")])
                let fresh = try #require(replaced.headers.first(name: "x-request-id"))
                #expect(fresh != "bad id!" && fresh.count == 16)
            }
        }

        @Test("GET /metrics: Prometheus text whose counters move with traffic")
        func metricsMove() async throws {
            try await TestServer.with { server in
                let before = try await server.scrape()
                #expect(before.value("uninlu_model_info", ["family": "siamese-uie", "backend": "cpu", "precision": "fp32", "devices": "cpu"]) == 1)
                #expect(before.value("uninlu_device_memory_bytes") > 0)
                #expect(before.has("uninlu_queue_depth"))
                let forwardsBefore = before.value("uninlu_forwards_total")
                #expect(forwardsBefore >= 2, "warm-up forwards are counted")
                let body = JSONValue.object([("text", .string(Self.ticketText)), ("labels", .array([.string("时间")]))])
                for _ in 0..<3 { #expect(try await server.post("/predict", json: body).status == 200) }
                _ = try await server.post("/predict", json: .object([("text", .number(1)), ("labels", .array([]))]))

                let after = try await server.scrape()
                #expect(after.value("uninlu_inference_requests_total", ["endpoint": "/predict", "status": "200"]) == 3)
                #expect(after.value("uninlu_inference_requests_total", ["endpoint": "/predict", "status": "422"]) == 1)
                #expect(after.value("uninlu_inference_requests_total", ["endpoint": "/metrics", "status": "200"]) == 1)
                #expect(after.value("uninlu_inference_latency_seconds_count", ["endpoint": "/predict"]) == 4)
                #expect(after.value("uninlu_errors_total", ["kind": "invalid_request"]) == 1)
                #expect(after.value("uninlu_forwards_total", ["kind": "encode"]) >= 4)
                #expect(after.value("uninlu_forwards_total", ["kind": "pointer"]) >= 4)
                #expect(after.value("uninlu_forwards_total") >= forwardsBefore + 6)
                #expect(after.value("uninlu_batch_size_count") == after.value("uninlu_forwards_total"))
                #expect(after.value("uninlu_batch_tokens_sum") > before.value("uninlu_batch_tokens_sum"))
                #expect(after.value("uninlu_queue_time_seconds_count") >= 8)
                #expect(after.value("uninlu_request_queue_time_seconds_count") >= 3)
                #expect(after.value("uninlu_queue_depth") == 0)
            }
        }
    }
}
