import UniNLUCore
import UniNLUPipelines

/// One text and its schema, as `POST /predict` takes it: `{"text", "labels": [..]}` (the FastAPI
/// tutorial's shape) or `{"text", "schema": {..}}` (nested; a list or a JSON string of either is
/// accepted too, as upstream). `output_all_prefix` is optional. Unknown fields are ignored.
struct PredictRequest: Sendable {
    var text: String
    var schema: Schema
    var outputAllPrefix: Bool

    /// - Parameter path: where this object sits in the body, for messages (`inputs[3]`).
    init(json: JSONValue, path: String? = nil) throws {
        let prefix = path.map { "\($0)." } ?? ""
        guard case .object = json else {
            throw ServerError.invalidRequest("\(path ?? "request body") must be a JSON object, found \(json.kindName)")
        }
        guard let textValue = json["text"] else { throw ServerError.invalidRequest("missing field \"\(prefix)text\"") }
        guard let text = textValue.stringValue else {
            throw ServerError.invalidRequest("field \"\(prefix)text\" must be a string, found \(textValue.kindName)")
        }
        self.text = text
        schema = try Self.schema(in: json, prefix: prefix)
        outputAllPrefix = try Self.outputAllPrefix(in: json, prefix: prefix)
    }

    /// The schema of `json`: exactly one of "labels" (a list of strings) and "schema".
    static func schema(in json: JSONValue, prefix: String) throws -> Schema {
        switch (json["labels"], json["schema"]) {
        case (nil, nil): throw ServerError.invalidRequest("missing field \"\(prefix)labels\" (a list of labels) or \"\(prefix)schema\"")
        case (.some, .some): throw ServerError.invalidRequest("give only one of \"\(prefix)labels\" and \"\(prefix)schema\"")
        case let (labels?, nil):
            guard let items = labels.arrayValue else {
                throw ServerError.invalidRequest("field \"\(prefix)labels\" must be a list of strings, found \(labels.kindName)")
            }
            var names: [String] = []
            for (index, item) in items.enumerated() {
                guard let name = item.stringValue else {
                    throw ServerError.invalidRequest("\"\(prefix)labels[\(index)]\" must be a string, found \(item.kindName)")
                }
                names.append(name)
            }
            return Schema(labels: names)
        case let (nil, schema?):
            do { return try Schema(json: schema) } catch let error as SchemaError {
                throw ServerError.schema(error, field: "\(prefix)schema")
            }
        }
    }

    static func outputAllPrefix(in json: JSONValue, prefix: String) throws -> Bool {
        guard let value = json["output_all_prefix"] else { return false }
        guard let flag = value.boolValue else {
            throw ServerError.invalidRequest("field \"\(prefix)output_all_prefix\" must be a boolean, found \(value.kindName)")
        }
        return flag
    }

    /// The input limits, checked before admission so that refused work costs nothing.
    func validate(against limits: InputLimits, path: String? = nil) throws {
        do {
            try limits.checkText(text)
            try schema.validate(against: limits)
        } catch let error as SchemaError {
            throw ServerError.schema(error, field: path)
        }
    }
}
