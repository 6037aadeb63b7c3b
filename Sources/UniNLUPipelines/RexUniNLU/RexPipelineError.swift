// Failures of the Rex pipeline that are not the user's input: a bug or an engine returning the wrong shape.

public enum RexPipelineError: Error, CustomStringConvertible, Equatable {
    case internalInconsistency(String)

    public var description: String {
        switch self {
        case let .internalInconsistency(detail): return "RexUniNLU pipeline inconsistency (please report): \(detail)"
        }
    }
}
