import Hummingbird

/// The per-request context: Hummingbird's core storage plus the request id and the body limit,
/// both stamped by middleware from the server's settings.
public struct ServerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Echoed as `x-request-id` and attached to every log line of the request.
    public var requestID = ""
    /// `--max-body-bytes`; Hummingbird's body collection stops at `maxUploadSize`.
    public var maxBodyBytes = ServerSettings().maxBodyBytes

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    public var maxUploadSize: Int { maxBodyBytes }
}
