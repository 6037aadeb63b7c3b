import Foundation
import UniNLUCore

// A model directory as ModelScope ships it: config.json, configuration.json (task), vocab.txt,
// tokenizer_config.json (optional) and model.safetensors or pytorch_model.bin.

public struct ModelDirectory: Sendable {
    public let url: URL
    public let family: ModelFamily
    /// config.json, raw bytes (decoded by the family's configuration type).
    public let configData: Data

    public init(url: URL) throws {
        self.url = url
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw EngineError.modelDirectoryNotFound(url.path)
        }
        let configURL = url.appendingPathComponent("config.json")
        guard let configData = try? Data(contentsOf: configURL) else {
            throw EngineError.missingModelFile(directory: url.path, file: "config.json")
        }
        self.configData = configData
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("vocab.txt").path) else {
            throw EngineError.missingModelFile(directory: url.path, file: "vocab.txt")
        }
        family = try Self.detectFamily(url: url, configData: configData)
    }

    /// configuration.json's task wins; otherwise config.json's model_type decides
    /// (the Rex hub repo ships its own code and no task the library knows).
    static func detectFamily(url: URL, configData: Data) throws -> ModelFamily {
        let configurationURL = url.appendingPathComponent("configuration.json")
        if let data = try? Data(contentsOf: configurationURL),
           let json = try? JSONParser.parse(bytes: Array(data)),
           let task = json["task"]?.stringValue {
            switch task {
            case "siamese-uie", "siamese_uie": return .siameseUIE
            case "rex-uninlu", "rex_uninlu": return .rexUniNLU
            default: throw EngineError.unsupportedModel(directory: url.path, reason: "configuration.json names task \"\(task)\"")
            }
        }
        let config: JSONValue
        do { config = try JSONParser.parse(bytes: Array(configData)) } catch {
            throw EngineError.invalidConfig(file: url.appendingPathComponent("config.json").path, reason: error.description)
        }
        switch config["model_type"]?.stringValue {
        case "bert": return .siameseUIE
        case "deberta-v2": return .rexUniNLU
        case let other:
            throw EngineError.unsupportedModel(
                directory: url.path, reason: "no configuration.json task and config.json model_type is \(other.map { "\"\($0)\"" } ?? "missing")")
        }
    }

    public func decodeConfig<T: Decodable>(_ type: T.Type) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: configData) } catch {
            throw EngineError.invalidConfig(file: url.appendingPathComponent("config.json").path, reason: "\(error)")
        }
    }
}
