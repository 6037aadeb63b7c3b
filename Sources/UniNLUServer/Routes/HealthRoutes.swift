import Hummingbird
import UniNLUCore

/// `GET /health` (the process is up and answering) and `GET /ready` (the model is loaded, warmed
/// up with a real forward, and the last forward did not fail; after a failure a real forward is
/// run again before answering).
struct HealthRoutes {
    let predictor: any Predictor
    let readiness: Readiness

    func register(on router: Router<ServerRequestContext>) {
        router.get("health") { _, _ in Response.json(.object([("status", .string("ok"))])) }
        router.get("ready") { _, _ in try await ready() }
    }

    func ready() async throws -> Response {
        if !readiness.isReady {
            do { try await readiness.check(predictor) } catch {
                throw ServerError.notReady(String(describing: error))
            }
        }
        let info = predictor.info
        return .json(.object([
            ("status", .string("ready")),
            ("model", .object([
                ("family", .string(info.family)), ("backend", .string(info.backend)),
                ("precision", .string(info.precision)), ("replicas", .number(Double(info.replicas))),
                ("devices", .array(info.devices.map { .number(Double($0)) })),
            ])),
        ]))
    }
}
