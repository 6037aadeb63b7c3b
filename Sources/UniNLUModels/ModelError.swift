// Errors of model construction and execution, with the context needed to act on them.

public enum ModelError: Error, CustomStringConvertible {
    case unsupportedConfiguration(family: String, problems: [String])
    case invalidInput(String)

    public var description: String {
        switch self {
        case let .unsupportedConfiguration(family, problems):
            return "unsupported \(family) configuration: " + problems.joined(separator: "; ")
        case let .invalidInput(message):
            return "invalid model input: \(message)"
        }
    }
}
