// Limits on what one request may ask for. Each has a CLI flag and a server flag of the same name
// (kebab-case); docs/limits.md lists them. They bound work and memory, never silently truncate.

public struct InputLimits: Sendable, Equatable {
    /// Longest text, in Unicode code points. Long texts are windowed, so this bounds cost, not correctness.
    public var maxTextLength: Int = 20_000
    /// Most labels in a schema, counting every level.
    public var maxSchemaLabels: Int = 256
    /// Deepest nesting of a schema (a flat schema is 1).
    public var maxSchemaDepth: Int = 8
    /// Longest label, in code points. (Upstream truncates hints at 128 tokens; longer labels can
    /// never be read whole by the model.)
    public var maxLabelLength: Int = 256

    public init() {}

    public func checkText(_ text: String) throws {
        let length = text.unicodeScalars.count
        if length > maxTextLength { throw SchemaError.textTooLong(length: length, limit: maxTextLength) }
    }
}
