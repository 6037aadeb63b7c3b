import Foundation
import Testing
import UniNLUCore
@testable import UniNLUServer

extension ServerTests {
    @Suite("Graceful shutdown", .serialized)
    struct ShutdownTests {
        @Test("shutdown with requests in flight: every one is answered 200 and correct, then the server stops")
        func drainsInFlight() async throws {
            let model = try ServerFixtures.loadModel()
            let cases = Array(try ServerFixtures.cases().prefix(20))
            var alone: [String] = []
            for item in cases { alone.append(try await item.aloneOutput(model).serialized()) }
            let expected = alone
            try await TestServer.with(connections: 64) { server in
                server.engine.setDelay(.milliseconds(150))  // long enough that shutdown lands mid-flight
                let results = try await withThrowingTaskGroup(of: (Int, Int, String).self) { group in
                    for (index, item) in cases.enumerated() {
                        group.addTask {
                            let response = try await server.post("/predict", json: item.requestBody)
                            return (index, response.status, try response.json()["result"]?.serialized() ?? response.text)
                        }
                    }
                    try await ServerTests.OverloadTests.eventually("all requests in flight") {
                        try await server.scrape().value("uninlu_requests_in_flight") >= Double(cases.count + 1)
                    }
                    await server.serviceGroup.triggerGracefulShutdown()
                    var results: [(Int, Int, String)] = []
                    for try await result in group { results.append(result) }
                    return results
                }
                #expect(results.count == cases.count)
                for (index, status, output) in results {
                    #expect(status == 200, "\(cases[index].id) lost at shutdown: \(output)")
                    #expect(output == expected[index], "\(cases[index].id)")
                }
                // The listener is closed: a new request cannot get in.
                await #expect(throws: (any Error).self) {
                    _ = try await server.request(.GET, "/health", contentType: nil, timeout: .seconds(5))
                }
            }
        }
    }
}
