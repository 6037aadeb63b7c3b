import UniNLUEngine

// What the server serves, for /ready, the info metric and logs: read off the loaded replicas (the
// backend they resolved to, the precision their forward really runs in, their CUDA devices), never
// off the flags that asked for them.

public struct ModelInfo: Sendable, Equatable {
    public init(family: String, backend: String, precision: String, replicas: Int, devices: [Int] = [], directory: String) {
        self.family = family
        self.backend = backend
        self.precision = precision
        self.replicas = replicas
        self.devices = devices
        self.directory = directory
    }

    /// The description of `replicas` (one per `--devices` entry, all loaded from one model); they
    /// must agree on family, backend and precision.
    public init(replicas: [LoadedModel]) throws {
        guard let first = replicas.first else { throw ServeConfigurationError.noReplicas }
        for replica in replicas.dropFirst()
        where replica.family != first.family || replica.backend != first.backend || replica.precision != first.precision {
            throw ServeConfigurationError.mixedReplicas(
                "replica 0 is \(first.family.rawValue)/\(first.backend.rawValue)/\(first.precision.rawValue), another is "
                    + "\(replica.family.rawValue)/\(replica.backend.rawValue)/\(replica.precision.rawValue)")
        }
        self.init(
            family: first.family.rawValue, backend: first.backend.rawValue, precision: first.precision.rawValue,
            replicas: replicas.count, devices: replicas.compactMap(\.device), directory: first.directory.url.path)
    }

    public var family: String
    public var backend: String
    public var precision: String
    public var replicas: Int
    /// CUDA device ordinals, one per replica; empty on the CPU backend.
    public var devices: [Int]
    public var directory: String

    /// `devices` as the info metric's label value: "0,1", or "cpu".
    public var devicesLabel: String { devices.isEmpty ? "cpu" : devices.map(String.init).joined(separator: ",") }
}
