// Helpers shared by the checkpoint tests: scratch directories, the fixture models, the generated
// torch checkpoints, and a builder for safetensors files with chosen (possibly broken) headers.

import Foundation
import Testing
@testable import UniNLUCheckpoint

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct ScratchDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("UniNLUCheckpointTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func write(_ data: Data, to name: String) throws -> URL {
        let file = url.appendingPathComponent(name)
        try data.write(to: file)
        return file
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func modelDirectory(_ family: String) -> URL {
        root.appendingPathComponent(family).appendingPathComponent("model")
    }

    /// The bytes of a checkpoint made by scripts/make_torch_test_checkpoints.py.
    static func torch(_ name: String) throws -> Data {
        let text = try #require(TorchTestCheckpoints.base64[name], "no generated checkpoint '\(name)'")
        return try #require(Data(base64Encoded: text.filter { !$0.isWhitespace }), "bad base64 for '\(name)'")
    }
}

/// One tensor of a hand-built safetensors file.
struct SafetensorsTensor {
    var name: String
    var dtype: String
    var shape: [Int]
    var bytes: [UInt8]
    /// Overrides the computed data_offsets, to build broken files.
    var offsets: [Int]? = nil
}

/// Builds a safetensors file: 8-byte length, JSON header, data. `header` replaces the generated
/// JSON when given; `headerLength` overrides the length field.
func makeSafetensors(_ tensors: [SafetensorsTensor], metadata: [String: String]? = ["format": "pt"],
                     header overrideHeader: String? = nil, headerLength: UInt64? = nil) -> Data {
    var entries: [String] = []
    if let metadata {
        let pairs = metadata.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }
        entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
    }
    var blob: [UInt8] = []
    for tensor in tensors {
        let offsets = tensor.offsets ?? [blob.count, blob.count + tensor.bytes.count]
        entries.append("\"\(tensor.name)\":{\"dtype\":\"\(tensor.dtype)\",\"shape\":\(tensor.shape),\"data_offsets\":\(offsets)}")
        blob += tensor.bytes
    }
    let header = Array((overrideHeader ?? "{\(entries.joined(separator: ","))}").utf8)
    var data = Data()
    var length = (headerLength ?? UInt64(header.count)).littleEndian
    withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
    data.append(contentsOf: header)
    data.append(contentsOf: blob)
    return data
}

func littleEndianBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
}

func littleEndianBytes(_ values: [UInt16]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
}

func littleEndianBytes(_ values: [Int64]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
}

/// Opens `data` written to a scratch file called `name`, returning the CheckpointError it gives
/// (recording an issue when it opens, or fails with another error type).
func openError(_ data: Data, name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> CheckpointError? {
    let scratch = try ScratchDirectory()
    defer { scratch.remove() }
    let url = try scratch.write(data, to: name)
    do {
        let reader = try Checkpoint.open(file: url)
        // Reading every tensor must fail too if opening did not.
        for name in reader.tensorNames { _ = try reader.tensor(named: name).floats() }
        Issue.record("\(name) opened without error", sourceLocation: sourceLocation)
        return nil
    } catch let error as CheckpointError {
        #expect(error.description.contains(url.path), "the message names the file: \(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("\(name): not a CheckpointError: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Opens the file and reads every tensor, returning the first error.
func openAndReadAll(_ url: URL) -> (tensors: Int, error: Error?) {
    readAll { try Checkpoint.open(file: url) }
}

/// Makes a reader and reads every tensor, returning the first error. For fuzzing in memory.
func readAll(_ makeReader: () throws -> any CheckpointReader) -> (tensors: Int, error: Error?) {
    do {
        let reader = try makeReader()
        for name in reader.tensorNames {
            let tensor = try reader.tensor(named: name)
            _ = try tensor.floats()
        }
        return (reader.tensorNames.count, nil)
    } catch {
        return (0, error)
    }
}
