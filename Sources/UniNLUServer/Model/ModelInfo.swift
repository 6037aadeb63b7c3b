// What the server serves, for /ready, the info metric and logs.

public struct ModelInfo: Sendable, Equatable {
    public init(family: String, backend: String, precision: String, replicas: Int, directory: String) {
        self.family = family
        self.backend = backend
        self.precision = precision
        self.replicas = replicas
        self.directory = directory
    }

    public var family: String
    public var backend: String
    public var precision: String
    public var replicas: Int
    public var directory: String
}
