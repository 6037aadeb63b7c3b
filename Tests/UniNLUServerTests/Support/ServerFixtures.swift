import Foundation
import UniNLUCore
import UniNLUEngine
import UniNLUPipelines

// The tiny random-weight SiameseUIE fixture model and the upstream cases' texts and schemas.

enum ServerFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let modelDirectory = root.appendingPathComponent("siamese_uie/model")

    static func loadModel() throws -> LoadedModel {
        try LoadedModel.load(modelDirectory: modelDirectory, backend: .cpu)
    }

    struct Case: Sendable {
        var id: String
        var text: String
        /// The schema exactly as the fixture gives it (object, or a JSON string of one).
        var schema: JSONValue
        var outputAllPrefix: Bool
    }

    /// Every upstream SiameseUIE case with a non-empty schema.
    static func cases() throws -> [Case] {
        let data = try Data(contentsOf: root.appendingPathComponent("siamese_uie/cases.json"))
        let json = try JSONParser.parse(bytes: Array(data), maxDepth: 256)
        return (json["cases"]?.arrayValue ?? []).compactMap { item in
            guard let id = item["id"]?.stringValue, let text = item["text"]?.stringValue, let schema = item["schema"] else { return nil }
            if case let .object(members) = schema, members.isEmpty { return nil }
            let allPrefix = item["call_kwargs"]?["output_all_prefix"]?.boolValue ?? false
            return Case(id: id, text: text, schema: schema, outputAllPrefix: allPrefix)
        }
    }
}

extension ServerFixtures.Case {
    /// A schema of leaves only (one hint level per request).
    var isFlat: Bool {
        guard case let .object(members) = schema else { return false }
        return members.allSatisfy { if case .null = $0.value { return true } else { return false } }
    }

    /// The `/predict` body for this case.
    var requestBody: JSONValue {
        var members: [(key: String, value: JSONValue)] = [("text", .string(text)), ("schema", schema)]
        if outputAllPrefix { members.append(("output_all_prefix", .bool(true))) }
        return .object(members)
    }

    /// What the pipeline gives for this case alone, with the model's own engine and no scheduler.
    func aloneOutput(_ model: LoadedModel) async throws -> JSONValue {
        try await model.predict(text: text, schema: try Schema(json: schema), outputAllPrefix: outputAllPrefix).json
    }
}
