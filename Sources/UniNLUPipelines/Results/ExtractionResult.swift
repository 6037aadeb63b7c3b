import UniNLUCore

// The upstream output: `{"output": [[{"type", "span", "offset"}, …], …]}`: one list per found
// path through the schema, offsets in Unicode code points, half-open.

public struct ExtractedSpan: Sendable, Equatable {
    public var type: String
    public var span: String
    public var offset: [Int]
    /// Extra fields some modes add (e.g. scores); empty in the upstream-compatible output.
    public var extras: [(key: String, value: JSONValue)] = []

    public init(type: String, span: String, offset: [Int]) {
        self.type = type
        self.span = span
        self.offset = offset
    }

    public static func == (a: ExtractedSpan, b: ExtractedSpan) -> Bool {
        a.type == b.type && a.span == b.span && a.offset == b.offset && JSONValue.object(a.extras) == JSONValue.object(b.extras)
    }

    public var json: JSONValue {
        .object([
            ("type", .string(type)), ("span", .string(span)), ("offset", .array(offset.map { .number(Double($0)) })),
        ] + extras)
    }
}

public struct ExtractionResult: Sendable, Equatable {
    public var paths: [[ExtractedSpan]]
    public init(paths: [[ExtractedSpan]]) { self.paths = paths }

    public var json: JSONValue { .object([("output", .array(paths.map { .array($0.map(\.json)) }))]) }
}
