import Foundation
import Testing
import UniNLUCore
@testable import UniNLUServer

extension ServerTests {
    @Suite("OpenAPI document")
    struct OpenAPIDocumentTests {
        @Test("GET /openapi.json lists exactly the router's routes and methods")
        func matchesRouter() async throws {
            let settings = TestServer.testSettings
            let router = try TestServer.withRouter(settings)
            let routes = Set(router.routes.map { "\($0.method.rawValue.uppercased()) \($0.path.description.hasPrefix("/") ? "" : "/")\($0.path)" })
            try await TestServer.with(settings) { server in
                let response = try await server.get("/openapi.json")
                #expect(response.status == 200)
                let document = try response.json()
                #expect(document["openapi"]?.stringValue?.hasPrefix("3.") == true)
                guard case let .object(paths)? = document["paths"] else {
                    Issue.record("no paths")
                    return
                }
                var documented: Set<String> = []
                for (path, item) in paths {
                    guard case let .object(operations) = item else { continue }
                    for (method, _) in operations { documented.insert("\(method.uppercased()) \(path)") }
                }
                #expect(documented == routes, "documented \(documented.sorted()) vs routed \(routes.sorted())")
            }
        }

        @Test("every $ref in the document resolves")
        func referencesResolve() throws {
            let document = try JSONParser.parse(OpenAPIDocument.json)
            var references: [String] = []
            func collect(_ value: JSONValue) {
                switch value {
                case let .object(members):
                    for (key, child) in members {
                        if key == "$ref", let ref = child.stringValue { references.append(ref) } else { collect(child) }
                    }
                case let .array(items): items.forEach(collect)
                default: break
                }
            }
            collect(document)
            #expect(!references.isEmpty)
            for reference in references {
                var node: JSONValue? = document
                for part in reference.dropFirst(2).split(separator: "/") { node = node?[String(part)] }
                #expect(node != nil, "unresolved \(reference)")
            }
        }
    }
}
