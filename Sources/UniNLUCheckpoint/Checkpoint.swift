// The entry point: find and open a model's weight file, whichever of the two formats it is in.

import Foundation

public enum Checkpoint {
    /// Weight files looked for in a model directory, in order of preference (as Hugging Face
    /// `from_pretrained` prefers safetensors).
    public static let weightFileNames = ["model.safetensors", "pytorch_model.bin"]

    /// Opens the preferred weight file of a model directory.
    public static func open(modelDirectory: URL) throws -> any CheckpointReader {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: modelDirectory.path, isDirectory: &isDirectory) else {
            throw CheckpointError.fileNotFound(file: modelDirectory.path)
        }
        guard isDirectory.boolValue else { return try open(file: modelDirectory) }
        for name in weightFileNames {
            let candidate = modelDirectory.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: candidate.path) { return try open(file: candidate) }
        }
        throw CheckpointError.noCheckpointInDirectory(directory: modelDirectory.path, lookedFor: weightFileNames,
                                                      note: otherWeightFiles(in: modelDirectory))
    }

    /// Opens one weight file, telling the format by its first bytes (then by its extension, for
    /// a file too damaged to tell). A directory is treated as by `open(modelDirectory:)`.
    public static func open(file url: URL) throws -> any CheckpointReader {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            return try open(modelDirectory: url)
        }
        let data = try readCheckpointFile(url)
        switch sniff(data) {
        case .zip: return try TorchCheckpoint(url: url, data: data)
        case .safetensors: return try SafetensorsFile(url: url, data: data)
        case .legacyPickle:
            throw CheckpointError.unrecognizedFormat(
                file: url.path,
                reason: "it is a bare pickle, the legacy torch.save format of PyTorch before 1.6 (or _use_new_zipfile_serialization=False), which cannot be read without running Python code; load and re-save it with a current PyTorch")
        case .unknown:
            switch url.pathExtension.lowercased() {
            case "safetensors": return try SafetensorsFile(url: url, data: data)
            case "bin", "pt", "pth", "ckpt": return try TorchCheckpoint(url: url, data: data)
            default:
                let start = data.prefix(8).map { String($0, radix: 16) }.joined(separator: " ")
                throw CheckpointError.unrecognizedFormat(
                    file: url.path,
                    reason: data.isEmpty ? "the file is empty" : "it starts with bytes \(start), which is neither a zip archive nor a safetensors header")
            }
        }
    }

    private enum Format { case zip, safetensors, legacyPickle, unknown }

    private static func sniff(_ data: Data) -> Format {
        // "PK\u{3}\u{4}" starts a zip with entries; "PK\u{5}\u{6}" an empty one.
        if let magic = data.readLE(UInt32.self, at: 0), magic == 0x0403_4b50 || magic == 0x0605_4b50 { return .zip }
        if let length = data.readLE(UInt64.self, at: 0), length > 0, length <= UInt64(SafetensorsFile.maxHeaderLength),
           data.readLE(UInt8.self, at: 8) == UInt8(ascii: "{") {
            return .safetensors
        }
        if data.readLE(UInt8.self, at: 0) == 0x80 { return .legacyPickle }  // pickle PROTO opcode
        return .unknown
    }

    private static func otherWeightFiles(in directory: URL) -> String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.sorted() ?? []
        let shardIndexes = names.filter { $0.hasSuffix(".index.json") }
        if !shardIndexes.isEmpty {
            return "found \(shardIndexes.joined(separator: ", ")): sharded checkpoints are not supported; merge the shards into one model.safetensors"
        }
        let weightExtensions: Set<String> = ["safetensors", "bin", "pt", "pth", "ckpt"]
        let others = names.filter { weightExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
        if !others.isEmpty {
            return "found \(others.joined(separator: ", ")); pass such a file itself, or rename it"
        }
        return names.isEmpty ? "the directory is empty" : nil
    }
}

/// Maps a checkpoint file into memory (weights are hundreds of megabytes: never copied whole).
func readCheckpointFile(_ url: URL) throws -> Data {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
        throw CheckpointError.fileNotFound(file: url.path)
    }
    guard !isDirectory.boolValue else {
        throw CheckpointError.unreadableFile(file: url.path, reason: "it is a directory")
    }
    do {
        return try Data(contentsOf: url, options: .alwaysMapped)
    } catch {
        throw CheckpointError.unreadableFile(file: url.path, reason: error.localizedDescription)
    }
}
