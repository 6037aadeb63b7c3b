import Foundation
import Testing
import UniNLUCore
@testable import UniNLUServer

extension ServerTests {
    @Suite("Overload, deadlines and engine failures", .serialized)
    struct OverloadTests {
        static let body = JSONValue.object([("text", .string("帮我定一张明天去上海的机票")), ("labels", .array([.string("时间")]))])

        /// Polls until `condition` holds (or fails the test after `timeout`).
        static func eventually(_ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if try await condition() { return }
                try await Task.sleep(for: .milliseconds(20))
            }
            Issue.record("timed out waiting for \(what)")
        }

        @Test("a full queue answers 429 with Retry-After at once; admitted requests still succeed")
        func overloaded() async throws {
            var settings = TestServer.testSettings
            settings.maxConcurrentRequests = 2
            settings.retryAfterSeconds = 3
            try await TestServer.with(settings) { server in
                server.engine.hold()
                async let first = server.post("/predict", json: Self.body)
                async let second = server.post("/predict", json: Self.body)
                // Both admitted: in flight at the server (the scrape itself counts one more).
                try await Self.eventually("two requests in flight") {
                    try await server.scrape().value("uninlu_requests_in_flight") >= 3
                }
                let refused = try await server.post("/predict", json: Self.body)
                #expect(refused.status == 429)
                #expect(refused.headers.first(name: "retry-after") == "3")
                #expect(refused.errorType == "overloaded")
                #expect(refused.limit == "max-concurrent-requests")
                // A batch needing more texts than are free is refused whole.
                let batch = try await server.post("/predict/batch", json: .object([
                    ("texts", .array([.string("a")])), ("labels", .array([.string("x")])),
                ]))
                #expect(batch.status == 429)
                server.engine.release()
                let (a, b) = try await (first, second)
                #expect(a.status == 200 && b.status == 200)
                #expect(try await server.post("/predict", json: Self.body).status == 200, "capacity is given back")
                #expect(try await server.scrape().value("uninlu_errors_total", ["kind": "overloaded"]) == 2)
            }
        }

        @Test("past the request deadline: 504 JSON, queued work dropped, the server serves on")
        func deadline() async throws {
            var settings = TestServer.testSettings
            settings.requestTimeout = .seconds(2)  // the engine is held, so this is exact; 2 s leaves room for the last check
            try await TestServer.with(settings) { server in
                server.engine.hold()
                let callsBefore = server.engine.callCount
                async let first = server.post("/predict", json: Self.body)
                // The first request's forward has started (and is held) before the second arrives.
                try await Self.eventually("the first forward to start") { server.engine.callCount > callsBefore }
                async let second = server.post("/predict", json: Self.body)
                let (a, b) = try await (first, second)
                for response in [a, b] {
                    #expect(response.status == 504, "\(response.text)")
                    #expect(response.errorType == "deadline_exceeded")
                    #expect(response.limit == "request-timeout-ms")
                }
                // One forward was running (held); the other request's job waited in the queue and was dropped.
                #expect(try await server.scrape().value("uninlu_dropped_jobs_total") >= 1)
                server.engine.release()
                #expect(try await server.post("/predict", json: Self.body).status == 200)
            }
        }

        @Test("an engine failure is a 500 JSON; /ready then re-checks with a real forward")
        func engineFailure() async throws {
            try await TestServer.with { server in
                server.engine.setFailing(true)
                let failed = try await server.post("/predict", json: Self.body)
                #expect(failed.status == 500)
                #expect(failed.errorType == "engine")
                #expect(failed.text.contains("injected engine failure"))
                let notReady = try await server.get("/ready")
                #expect(notReady.status == 503)
                #expect(notReady.errorType == "not_ready")
                server.engine.setFailing(false)
                #expect(try await server.get("/ready").status == 200, "a successful re-check makes it ready again")
                #expect(try await server.post("/predict", json: Self.body).status == 200)
                #expect(try await server.scrape().value("uninlu_forward_failures_total") >= 1)
            }
        }
    }
}
