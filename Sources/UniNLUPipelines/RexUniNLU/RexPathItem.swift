import UniNLUCore

// One element of an output path before it becomes an `ExtractedSpan`: classification keeps its
// confidence until the final selection (upstream pops it there); extraction may carry a score.

struct RexPathItem: Sendable, Equatable {
    var type: String
    var span: String
    var start: Int
    var end: Int
    var confidence: Double? = nil
    var score: Double? = nil

    func extracted(includeScores: Bool) -> ExtractedSpan {
        var item = ExtractedSpan(type: type, span: span, offset: [start, end])
        if includeScores {
            if let score { item.extras.append((key: "score", value: .number(score))) }
            if let confidence { item.extras.append((key: "confidence", value: .number(confidence))) }
        }
        return item
    }
}

/// Python `str.strip()` for the prefix types upstream strips (Unicode whitespace).
func pythonStrip(_ s: String) -> String {
    let scalars = Array(s.unicodeScalars)
    func isSpace(_ c: Unicode.Scalar) -> Bool {
        c.properties.isWhitespace || (0x1C...0x1F).contains(c.value)
    }
    guard let first = scalars.firstIndex(where: { !isSpace($0) }), let last = scalars.lastIndex(where: { !isSpace($0) }) else { return "" }
    var view = String.UnicodeScalarView()
    view.append(contentsOf: scalars[first...last])
    return String(view)
}
