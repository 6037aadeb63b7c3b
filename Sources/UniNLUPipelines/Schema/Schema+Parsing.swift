import UniNLUCore

// Schemas arrive as a JSON object (nested), a JSON string holding one (upstream accepts both), or
// a list of label strings (a flat schema).

extension Schema {
    /// Parses schema text: an object, a list of labels, or a JSON string that contains either.
    public static func parse(json text: String) throws -> Schema {
        let value: JSONValue
        do {
            value = try JSONParser.parse(text)
        } catch {
            throw SchemaError.invalidJSON(error.description)
        }
        return try Schema(json: value)
    }

    public init(json value: JSONValue) throws {
        switch value {
        case let .string(inner):
            // Upstream `json.loads`es a string schema once.
            let parsed: JSONValue
            do { parsed = try JSONParser.parse(inner) } catch { throw SchemaError.invalidJSON(error.description) }
            if case .string = parsed { throw SchemaError.notAnObject(found: "a doubly encoded string") }
            self = try Schema(json: parsed)
        case let .array(items):
            var labels: [String] = []
            for item in items {
                guard let label = item.stringValue else { throw SchemaError.notAnObject(found: "a list containing \(item.kindName)") }
                labels.append(label)
            }
            self.init(labels: labels)
        case .object:
            self = try Schema.fromObject(value, path: [])
        default:
            throw SchemaError.notAnObject(found: value.kindName)
        }
    }

    private static func fromObject(_ value: JSONValue, path: [String]) throws -> Schema {
        guard case let .object(members) = value else { throw SchemaError.notAnObject(found: value.kindName) }
        var entries: [Entry] = []
        for (label, child) in members {
            switch child {
            case .null: entries.append(Entry(label: label))
            case .object: entries.append(Entry(label: label, children: try fromObject(child, path: path + [label])))
            default: throw SchemaError.invalidChild(label: label, found: child.kindName)
            }
        }
        return Schema(entries: entries)
    }

    /// Checks the schema against the limits, naming the first one exceeded.
    public func validate(against limits: InputLimits) throws {
        let count = nodeCount
        if count > limits.maxSchemaLabels { throw SchemaError.tooManyLabels(count: count, limit: limits.maxSchemaLabels) }
        let depth = self.depth
        if depth > limits.maxSchemaDepth { throw SchemaError.tooDeep(depth: depth, limit: limits.maxSchemaDepth) }
        try checkLabelLengths(limit: limits.maxLabelLength)
    }

    private func checkLabelLengths(limit: Int) throws {
        for entry in entries {
            let length = entry.label.unicodeScalars.count
            if length > limit { throw SchemaError.labelTooLong(label: entry.label, length: length, limit: limit) }
            try entry.children?.checkLabelLengths(limit: limit)
        }
    }
}
