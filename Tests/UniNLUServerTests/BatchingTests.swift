import Foundation
import Testing
import UniNLUCore
@testable import UniNLUServer

extension ServerTests {
    @Suite("Cross-request batching on the live server", .serialized)
    struct BatchingTests {
        /// The short flat-schema upstream cases, `requests` of them all at once.
        static func concurrentRequests(replicas: Int, requests: Int) async throws {
            let model = try ServerFixtures.loadModel()
            // Short texts with flat schemas keep hundreds of requests quick in a debug build; the
            // multi-window and nested cases are compared one by one in EndpointTests.
            let cases = try ServerFixtures.cases().filter { $0.text.unicodeScalars.count <= 120 && $0.isFlat }
            var alone: [String] = []
            for item in cases { alone.append(try await item.aloneOutput(model).serialized()) }
            let expected = alone
            #expect(cases.count >= 8)
            let total = requests  // cycling through the cases
            var settings = TestServer.testSettings
            settings.batchPolicy.maxBatchWait = .milliseconds(2)
            try await TestServer.with(settings, replicas: replicas, connections: requests) { server in
                let forwardsBefore = try await server.scrape().value("uninlu_forwards_total")
                let outputs = try await withThrowingTaskGroup(of: (Int, Int, String).self) { group in
                    for index in 0..<total {
                        group.addTask {
                            let item = cases[index % cases.count]
                            let response = try await server.post("/predict", json: item.requestBody)
                            return (index, response.status, try response.json()["result"]?.serialized() ?? response.text)
                        }
                    }
                    var outputs: [(Int, Int, String)] = []
                    for try await output in group { outputs.append(output) }
                    return outputs
                }
                #expect(outputs.count == total)
                for (index, status, output) in outputs {
                    let item = cases[index % cases.count]
                    #expect(status == 200, "\(item.id): \(output)")
                    #expect(output == expected[index % cases.count], "\(item.id) differs from its output alone")
                }
                let metrics = try await server.scrape()
                let forwards = metrics.value("uninlu_forwards_total") - forwardsBefore
                // Alone, every request needs at least two forwards (text encode + one hint level).
                #expect(forwards < Double(total), "\(forwards) forwards for \(total) requests: no batching")
                #expect(metrics.value("uninlu_batch_size_sum") > metrics.value("uninlu_batch_size_count"))
                if replicas > 1 {
                    for engine in server.engines { #expect(engine.callCount > 2, "every replica took batches") }
                }
            }
        }

        @Test("300 concurrent requests: each equals its output alone, in fewer forwards than requests")
        func hundredsConcurrent() async throws {
            try await Self.concurrentRequests(replicas: 1, requests: 300)
        }

        @Test("two engine replicas (--devices 0,1): batches spread over both, outputs unchanged")
        func twoReplicas() async throws {
            try await Self.concurrentRequests(replicas: 2, requests: 100)
        }
    }
}
