import UniNLUCore
import UniNLUPipelines

/// `POST /predict/batch`: many texts with one schema, `{"texts": [..], "labels"|"schema": ..}`, or
/// one schema each, `{"inputs": [{"text", "labels"|"schema"}, ..]}`. All texts run concurrently,
/// so the scheduler batches them with each other and with other requests.
struct BatchPredictRequest: Sendable {
    var items: [PredictRequest]

    init(json: JSONValue, maxTexts: Int) throws {
        switch (json["texts"], json["inputs"]) {
        case (nil, nil): throw ServerError.invalidRequest("missing field \"texts\" (with \"labels\" or \"schema\") or \"inputs\"")
        case (.some, .some): throw ServerError.invalidRequest("give only one of \"texts\" and \"inputs\"")
        case let (texts?, nil):
            guard let values = texts.arrayValue else {
                throw ServerError.invalidRequest("field \"texts\" must be a list of strings, found \(texts.kindName)")
            }
            try Self.checkCount(values.count, maxTexts: maxTexts)
            let schema = try PredictRequest.schema(in: json, prefix: "")
            let outputAllPrefix = try PredictRequest.outputAllPrefix(in: json, prefix: "")
            items = try values.enumerated().map { index, value in
                guard let text = value.stringValue else {
                    throw ServerError.invalidRequest("\"texts[\(index)]\" must be a string, found \(value.kindName)")
                }
                return PredictRequest(text: text, schema: schema, outputAllPrefix: outputAllPrefix)
            }
        case let (nil, inputs?):
            guard let values = inputs.arrayValue else {
                throw ServerError.invalidRequest("field \"inputs\" must be a list of objects, found \(inputs.kindName)")
            }
            try Self.checkCount(values.count, maxTexts: maxTexts)
            items = try values.enumerated().map { try PredictRequest(json: $0.element, path: "inputs[\($0.offset)]") }
        }
    }

    private static func checkCount(_ count: Int, maxTexts: Int) throws {
        if count == 0 { throw ServerError.invalidRequest("the batch is empty") }
        if count > maxTexts { throw ServerError.tooManyTexts(count: count, limit: maxTexts) }
    }

    func validate(against limits: InputLimits) throws {
        for (index, item) in items.enumerated() { try item.validate(against: limits, path: "item \(index)") }
    }
}

extension PredictRequest {
    init(text: String, schema: Schema, outputAllPrefix: Bool) {
        self.text = text
        self.schema = schema
        self.outputAllPrefix = outputAllPrefix
    }
}
