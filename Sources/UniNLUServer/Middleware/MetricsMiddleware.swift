import Hummingbird

/// Counts requests by route pattern and status and times them. Unmatched paths are recorded as
/// "NotFound", never by their raw URI (bounded label values).
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = ServerRequestContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        metrics.requestsInFlight.increment()
        defer { metrics.requestsInFlight.decrement() }
        let response = try await next(request, context)
        metrics.recordRequest(endpoint: context.endpointPath ?? "NotFound", status: response.status.code,
                              duration: ContinuousClock.now - start)
        return response
    }
}
