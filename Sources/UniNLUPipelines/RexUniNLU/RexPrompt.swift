import UniNLUCore

// The pieces of one recursion level (upstream `level_hint_map`): every path found so far (a prefix) with
// the labels to look for under it, and the packed prompt strings (upstream `split_hint_by_level`).

/// One element of a path: a label and the span found for it (`(type, span, (start, end)[, confidence])`).
struct RexPrefixItem: Hashable, Sendable {
    var type: String
    var span: String
    var start: Int
    var end: Int
    /// Classification paths carry their confidence (it is part of upstream's dictionary key).
    var confidence: Double?
}

/// An insertion-ordered map from path to the sub-schema to search under it, with Python dict semantics
/// (re-inserting a key keeps its place).
struct RexLevel: Sendable {
    private(set) var prefixes: [[RexPrefixItem]] = []
    private(set) var schemas: [Schema] = []
    private var index: [[RexPrefixItem]: Int] = [:]

    var isEmpty: Bool { prefixes.isEmpty }
    var count: Int { prefixes.count }

    mutating func insert(_ prefix: [RexPrefixItem], schema: Schema) {
        if let existing = index[prefix] {
            schemas[existing] = schema
        } else {
            index[prefix] = prefixes.count
            prefixes.append(prefix)
            schemas.append(schema)
        }
    }

    mutating func merge(_ other: RexLevel) {
        for (prefix, schema) in zip(other.prefixes, other.schemas) { insert(prefix, schema: schema) }
    }
}

/// One packed prompt: `[PREFIX]p1[TYPE]t1[TYPE]t2[PREFIX]p2[TYPE]…` and, per `[TYPE]`, the level entry,
/// the label and the code-point index of the marker in `text` (upstream `level_hint_char_map`).
struct RexPrompt: Sendable {
    struct TypeSlot: Sendable {
        var entry: Int
        var label: String
        var charIndex: Int
    }
    var text = ""
    var length = 0
    var types: [TypeSlot] = []

    mutating func append(_ piece: String) {
        text += piece
        length += piece.unicodeScalars.count
    }
}

/// Python's `str` ordering: code point by code point.
func codePointPrecedes(_ a: String, _ b: String) -> Bool {
    a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
}
