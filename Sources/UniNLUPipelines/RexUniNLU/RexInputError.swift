// Input that RexUniNLU cannot answer correctly, each case naming the problem and the remedy.

public enum RexInputError: Error, CustomStringConvertible, Equatable {
    /// A label longer than the prompt allows (upstream silently leaves it out).
    case labelTooLong(label: String, tokens: Int, limit: Int)
    /// Both classification markers in one text (upstream crashes with a KeyError).
    case bothClassificationMarkers
    /// A literal `[PREFIX]` in the text (upstream crashes with an IndexError).
    case prefixMarkerInText
    /// A label that contains one of the prompt markers or a template special token.
    case markerInLabel(label: String, marker: String)

    public var description: String {
        switch self {
        case let .labelTooLong(label, tokens, limit):
            return "label \"\(label.unicodeScalars.prefix(40).map(String.init).joined())…\" is \(tokens - 1) tokens; RexUniNLU prompts hold labels of at most \(limit - 1) tokens (upstream silently drops longer ones; shorten it, or set RexUniNLUOptions.overlongLabels = .skip to drop it as upstream does)"
        case .bothClassificationMarkers:
            return "the text contains both [CLASSIFY] and [MULTICLASSIFY]; use one marker (single-label or multi-label classification)"
        case .prefixMarkerInText:
            return "the text contains a literal [PREFIX], which upstream RexUniNLU cannot handle; remove it, or set RexUniNLUOptions.fixMarkersInText to treat it as text"
        case let .markerInLabel(label, marker):
            return "label \"\(label)\" contains \(marker), which would break the prompt structure; remove it from the label"
        }
    }
}
