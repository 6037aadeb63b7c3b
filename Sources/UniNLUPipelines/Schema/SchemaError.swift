// Everything that can be wrong with a schema or its text, each naming the limit or the place.

public enum SchemaError: Error, CustomStringConvertible, Equatable {
    case invalidJSON(String)
    case notAnObject(found: String)
    case invalidChild(label: String, found: String)
    case tooManyLabels(count: Int, limit: Int)
    case tooDeep(depth: Int, limit: Int)
    case labelTooLong(label: String, length: Int, limit: Int)
    case textTooLong(length: Int, limit: Int)

    public var description: String {
        switch self {
        case let .invalidJSON(message): return "schema is not valid JSON: \(message)"
        case let .notAnObject(found):
            return "schema must be a JSON object of labels (or a list of label strings), found \(found)"
        case let .invalidChild(label, found):
            return "value of label \"\(label)\" must be null (a leaf) or an object of sub-labels, found \(found)"
        case let .tooManyLabels(count, limit):
            return "schema has \(count) labels; the limit is \(limit) (--max-schema-labels)"
        case let .tooDeep(depth, limit):
            return "schema is \(depth) levels deep; the limit is \(limit) (--max-schema-depth)"
        case let .labelTooLong(label, length, limit):
            return "label \"\(label.unicodeScalars.prefix(40).map(String.init).joined())…\" is \(length) characters; the limit is \(limit) (--max-label-length)"
        case let .textTooLong(length, limit):
            return "text is \(length) characters; the limit is \(limit) (--max-text-length)"
        }
    }
}
