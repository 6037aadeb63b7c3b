// Reader for the safetensors format (Hugging Face `model.safetensors`).
//
// Layout:
//     [8 bytes]  N, unsigned 64-bit little-endian: length of the header
//     [N bytes]  header: a UTF-8 JSON object, possibly padded with trailing spaces
//                  { "<tensor name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] },
//                    ...,
//                    "__metadata__": { "<string>": "<string>", ... } }      (optional)
//     [rest]     the data blob; a tensor's bytes are blob[begin ..< end], row-major, little-endian
//
// Validation follows the reference implementation: the header fits the file, is a JSON object,
// every entry has a known dtype, a shape of non-negative ints and in-range offsets with
// end - begin == product(shape) * dtype size (overflow-checked); sorted by offset, the tensors
// tile the blob exactly (no overlap, no gap, nothing left over).
//
// The file is memory-mapped and tensors are slices of the mapping: opening reads only the header.

import Foundation
import UniNLUCore

public struct SafetensorsFile: CheckpointReader {
    public let url: URL
    /// Tensor names in header order.
    public let tensorNames: [String]
    /// The header's `__metadata__` (e.g. ["format": "pt"]), empty when absent.
    public let metadata: [String: String]

    private struct Entry: Sendable {
        let dtype: TensorDType
        let shape: [Int]
        /// Absolute byte range in the file.
        let offset: Int
        let length: Int
    }

    /// The encoding of the file's U8 tensors, from `__metadata__["uninlu.weights"]`: nil for an
    /// ordinary float checkpoint. See WeightQuantization.swift.
    public let quantization: WeightQuantization?

    private let data: Data
    private let entries: [String: Entry]

    /// The reference implementation's limit; real headers are tens of kilobytes.
    static let maxHeaderLength = 100_000_000

    public init(url: URL) throws {
        try self.init(url: url, data: try readCheckpointFile(url))
    }

    init(url: URL, data: Data) throws {
        let file = url.path
        func corrupt(_ reason: String) -> CheckpointError { .corruptFile(file: file, reason: reason) }
        self.url = url
        self.data = data

        guard let headerLength64 = data.readLE(UInt64.self, at: 0) else {
            throw corrupt("the file is only \(bytesText(data.count)); a safetensors file starts with an 8-byte header length")
        }
        guard headerLength64 <= UInt64(data.count - 8) else {
            throw corrupt("the header length is \(headerLength64) bytes but only \(bytesText(data.count - 8)) follow it")
        }
        let headerLength = Int(headerLength64)
        guard headerLength > 0, headerLength <= Self.maxHeaderLength else {
            throw corrupt("the header length \(headerLength) is outside 1...\(Self.maxHeaderLength)")
        }
        guard let headerBytes = data.slice(offset: 8, length: headerLength) else {
            throw corrupt("the header is cut off")
        }
        let header: JSONValue
        do {
            header = try JSONParser.parse(bytes: Array(headerBytes))
        } catch {
            throw corrupt("the header is not valid JSON (\(error))")
        }
        guard case let .object(members) = header else {
            throw corrupt("the header is a JSON \(header.kindName), not an object")
        }

        let blobStart = 8 + headerLength
        let blobSize = data.count - blobStart
        var names: [String] = []
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in members {
            if name == "__metadata__" {
                guard case let .object(pairs) = value else { throw corrupt("__metadata__ is not an object") }
                for (key, item) in pairs {
                    guard let text = item.stringValue else { throw corrupt("__metadata__['\(key)'] is not a string") }
                    metadata[key] = text
                }
                continue
            }
            let entry = try Self.entry(name: name, value: value, blobSize: blobSize, file: file)
            names.append(name)
            entries[name] = Entry(dtype: entry.dtype, shape: entry.shape, offset: blobStart + entry.begin,
                                  length: entry.end - entry.begin)
        }

        // The tensors must tile the blob: sorted by position, each starts where the previous ended.
        let ordered = names.compactMap { name in entries[name].map { (name: name, entry: $0) } }
            .sorted { ($0.entry.offset, $0.entry.length) < ($1.entry.offset, $1.entry.length) }
        var expectedStart = blobStart
        for (name, entry) in ordered {
            if entry.offset < expectedStart {
                throw CheckpointError.invalidTensor(file: file, tensor: name, reason: "its bytes overlap those of another tensor")
            }
            if entry.offset > expectedStart {
                throw CheckpointError.invalidTensor(
                    file: file, tensor: name,
                    reason: "it starts at blob byte \(entry.offset - blobStart), leaving unexplained bytes from \(expectedStart - blobStart)")
            }
            expectedStart = entry.offset + entry.length
        }
        guard expectedStart == data.count else {
            throw corrupt("the tensors cover \(bytesText(expectedStart - blobStart)) of the \(bytesText(blobSize)) data section")
        }

        // A quantized file: every U8 tensor must have the encoding's block shape.
        var quantization: WeightQuantization? = nil
        let byteTensors = names.filter { entries[$0]?.dtype == .uint8 }
        if let scheme = metadata[WeightQuantization.metadataKey], !byteTensors.isEmpty {
            guard let known = WeightQuantization(rawValue: scheme) else {
                throw CheckpointError.unsupportedQuantization(file: file, scheme: scheme)
            }
            for name in byteTensors {
                if let entry = entries[name], let reason = known.problem(stored: entry.shape) {
                    throw CheckpointError.invalidQuantizedTensor(file: file, tensor: name, scheme: scheme, reason: reason)
                }
            }
            quantization = known
        }

        tensorNames = names
        self.entries = entries
        self.metadata = metadata
        self.quantization = quantization
    }

    public func tensor(named name: String) throws -> CheckpointTensor {
        guard let entry = entries[name] else {
            throw CheckpointError.tensorNotFound(file: url.path, name: name, nearby: NearbyNames.find(name, in: tensorNames))
        }
        guard let bytes = data.slice(offset: entry.offset, length: entry.length) else {
            throw CheckpointError.invalidTensor(file: url.path, tensor: name, reason: "its bytes lie outside the file")
        }
        return try CheckpointTensor(name: name, dtype: entry.dtype, shape: entry.shape, data: bytes, file: url.path,
                                    quantization: entry.dtype == .uint8 ? quantization : nil)
    }

    /// Validates one header entry; `begin`/`end` are relative to the blob.
    private static func entry(name: String, value: JSONValue, blobSize: Int, file: String) throws
        -> (dtype: TensorDType, shape: [Int], begin: Int, end: Int) {
        func invalid(_ reason: String) -> CheckpointError { .invalidTensor(file: file, tensor: name, reason: reason) }
        guard case .object = value else { throw invalid("its header entry is a JSON \(value.kindName), not an object") }
        guard let code = value["dtype"]?.stringValue else { throw invalid("its header entry has no string 'dtype'") }
        guard let dtype = TensorDType(safetensorsCode: code) else {
            throw CheckpointError.unsupportedDType(file: file, tensor: name, dtype: code)
        }
        guard let shapeValues = value["shape"]?.arrayValue else { throw invalid("its header entry has no 'shape' array") }
        let shape = try shapeValues.map { item -> Int in
            guard let dimension = item.intValue, dimension >= 0 else {
                throw invalid("its shape holds a \(item.kindName) that is not an integer in 0..<2^53")
            }
            return dimension
        }
        guard let offsets = value["data_offsets"]?.arrayValue, offsets.count == 2,
              let begin = offsets[0].intValue, let end = offsets[1].intValue else {
            throw invalid("its header entry has no 'data_offsets' pair of integers")
        }
        guard begin >= 0, begin <= end else { throw invalid("its data_offsets [\(begin), \(end)] are not an ascending pair") }
        guard end <= blobSize else {
            throw CheckpointError.corruptFile(
                file: file,
                reason: "tensor '\(name)' ends at byte \(end) of the data section, but only \(bytesText(blobSize)) follow the header: the file was cut off, or its header is damaged")
        }
        guard let count = checkedElementCount(shape) else { throw invalid("its shape \(shape) overflows") }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, byteCount == end - begin else {
            throw invalid("shape \(shape) of \(dtype.rawValue) needs \(overflow ? "more than Int.max" : bytesText(byteCount)) but data_offsets give \(bytesText(end - begin))")
        }
        return (dtype, shape, begin, end)
    }
}
