// Reader for `torch.save` checkpoints in the zip format of PyTorch 1.6 and later
// (e.g. Hugging Face `pytorch_model.bin`).
//
// Layout: a ZIP archive (see ZipArchive.swift) whose entries all sit under one folder, the
// "archive name" (the file's stem, or "archive"):
//     <archive>/data.pkl          pickle (protocol 2) of the saved object, see RestrictedUnpickler
//     <archive>/data/<key>        raw bytes of storage <key>, element type from the pickle
//     <archive>/byteorder         "little" or "big" (absent in files older than torch 1.10: little)
//     <archive>/version           format version, e.g. "3"
//     <archive>/.format_version, .storage_alignment, .data/serialization_id   (torch 2.x; unused)
// Each tensor in the pickle is a strided view (offset, sizes, strides in elements) of one
// storage; several tensors may share a storage.
//
// What is loaded: the pickled object must be a dict. Its tensors are named by their key path
// joined with "." (nested dicts and lists are flattened; non-tensor values such as an epoch
// number are skipped). One common wrapper is unwrapped: when the top-level dict holds no tensor
// itself and exactly one of its keys is "state_dict", "model_state_dict", "model", "module",
// "net" or "network" with a dict value, that dict is the state dict and the rest (optimizer
// state, epoch, ...) is not read; `unwrappedKey` tells which key that was.
//
// The file is memory-mapped; stored storages are slices of the mapping, so opening costs only
// the pickle. A tensor is copied only when it is non-contiguous (gathered into row-major order)
// or big-endian (byte-swapped).

import Foundation

public struct TorchCheckpoint: CheckpointReader {
    public let url: URL
    /// Tensor names in the order the pickle holds them.
    public let tensorNames: [String]
    /// The wrapper key whose dict was taken as the state dict, or nil when the top level was.
    public let unwrappedKey: String?

    private let tensors: [String: TorchTensorRef]
    /// Storage key -> its bytes (exactly elementCount * dtype.byteSize of them, as checked).
    private let storages: [String: Data]
    private let bigEndian: Bool

    static let wrapperKeys = ["state_dict", "model_state_dict", "model", "module", "net", "network"]

    public init(url: URL) throws {
        try self.init(url: url, data: try readCheckpointFile(url))
    }

    init(url: URL, data: Data) throws {
        let file = url.path
        self.url = url
        let archive = try ZipArchive(data: data, file: file)

        // The archive name is whatever folder holds data.pkl; torch writes exactly one.
        let pickles = archive.entries.filter {
            let parts = $0.name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && parts[1] == "data.pkl"
        }
        guard let pickleEntry = pickles.first else {
            throw CheckpointError.missingArchiveEntry(file: file, entry: "<archive>/data.pkl")
        }
        guard pickles.count == 1 else {
            throw CheckpointError.corruptFile(
                file: file, reason: "the zip holds several data.pkl entries (\(pickles.map(\.name).joined(separator: ", ")))")
        }
        let prefix = String(pickleEntry.name.dropLast("data.pkl".count))

        bigEndian = try Self.readByteOrder(archive, prefix: prefix, file: file)

        var unpickler = RestrictedUnpickler(bytes: Array(try archive.contents(of: pickleEntry)),
                                            file: file, entry: pickleEntry.name)
        let root = try unpickler.load()
        let (named, wrapper) = try Self.namedTensors(root, file: file)
        unwrappedKey = wrapper
        tensorNames = named.map(\.name)
        tensors = Dictionary(named.map { ($0.name, $0.tensor) }, uniquingKeysWith: { first, _ in first })

        // Check every storage once, up front, so that a damaged archive fails at open.
        var storages: [String: Data] = [:]
        var dtypes: [String: TensorDType] = [:]
        for item in named {
            let storage = item.tensor.storage
            if let seen = dtypes[storage.key] {
                guard seen == storage.dtype else {
                    throw CheckpointError.invalidTensor(
                        file: file, tensor: item.name,
                        reason: "storage '\(storage.key)' is read as \(storage.dtype.rawValue) here but as \(seen.rawValue) by another tensor")
                }
                continue
            }
            dtypes[storage.key] = storage.dtype
            let entryName = prefix + "data/" + storage.key
            guard let entry = archive.entry(named: entryName) else {
                throw CheckpointError.missingArchiveEntry(file: file, entry: entryName)
            }
            let (byteCount, overflow) = storage.elementCount.multipliedReportingOverflow(by: storage.dtype.byteSize)
            // torch.load insists on the exact size too.
            guard !overflow, byteCount == entry.uncompressedSize else {
                throw CheckpointError.corruptFile(
                    file: file,
                    reason: "storage '\(entryName)' should hold \(storage.elementCount) \(storage.dtype.rawValue) values (\(overflow ? "too many" : bytesText(byteCount))) but has \(bytesText(entry.uncompressedSize))")
            }
            storages[storage.key] = try archive.contents(of: entry)
        }
        self.storages = storages
    }

    public func tensor(named name: String) throws -> CheckpointTensor {
        guard let ref = tensors[name] else {
            throw CheckpointError.tensorNotFound(file: url.path, name: name,
                                                 nearby: NearbyNames.find(name, in: tensorNames))
        }
        guard let storage = storages[ref.storage.key] else {
            throw CheckpointError.missingArchiveEntry(file: url.path, entry: "data/\(ref.storage.key)")
        }
        var bytes = try gather(ref, from: storage, name: name)
        if bigEndian { bytes = byteSwapped(bytes, elementSize: ref.storage.dtype.byteSize) }
        return try CheckpointTensor(name: name, dtype: ref.storage.dtype, shape: ref.shape, data: bytes, file: url.path)
    }

    // MARK: - Strided views

    /// The view's elements in row-major order: a slice when the view is contiguous, else a copy.
    private func gather(_ ref: TorchTensorRef, from storage: Data, name: String) throws -> Data {
        let elementSize = ref.storage.dtype.byteSize
        // Bounds were checked against the storage's element count when unpickling.
        let count = checkedElementCount(ref.shape) ?? 0
        if Self.isContiguous(shape: ref.shape, strides: ref.strides) || count == 0 {
            guard let slice = storage.slice(offset: ref.storageOffset * elementSize, length: count * elementSize) else {
                throw CheckpointError.invalidTensor(file: url.path, tensor: name, reason: "its view lies outside its storage")
            }
            return slice
        }
        var output = Data(count: count * elementSize)
        let rank = ref.shape.count
        let inBounds = output.withUnsafeMutableBytes { destination -> Bool in
            storage.withUnsafeBytes { source -> Bool in
                guard let to = destination.baseAddress, let from = source.baseAddress else { return false }
                var index = [Int](repeating: 0, count: rank)
                var element = ref.storageOffset
                for target in 0 ..< count {
                    guard element >= 0, (element + 1) * elementSize <= source.count else { return false }
                    (to + target * elementSize).copyMemory(from: from + element * elementSize, byteCount: elementSize)
                    // Odometer over the indices, last dimension fastest.
                    var dimension = rank - 1
                    while dimension >= 0 {
                        index[dimension] += 1
                        element += ref.strides[dimension]
                        if index[dimension] < ref.shape[dimension] { break }
                        element -= ref.strides[dimension] * ref.shape[dimension]
                        index[dimension] = 0
                        dimension -= 1
                    }
                }
                return true
            }
        }
        guard inBounds else {
            throw CheckpointError.invalidTensor(file: url.path, tensor: name, reason: "its strided view reads outside its storage")
        }
        return output
    }

    /// Row-major contiguity; the stride of a dimension of size 1 does not matter.
    static func isContiguous(shape: [Int], strides: [Int]) -> Bool {
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() where size != 1 {
            guard stride == expected else { return false }
            expected *= size
        }
        return true
    }

    private func byteSwapped(_ data: Data, elementSize: Int) -> Data {
        guard elementSize > 1 else { return data }
        var bytes = [UInt8](data)
        for start in stride(from: 0, to: bytes.count - elementSize + 1, by: elementSize) {
            bytes[start ..< start + elementSize].reverse()
        }
        return Data(bytes)
    }

    // MARK: - Archive metadata

    private static func readByteOrder(_ archive: ZipArchive, prefix: String, file: String) throws -> Bool {
        guard let entry = archive.entry(named: prefix + "byteorder") else { return false }
        let text = String(decoding: try archive.contents(of: entry), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        switch text {
        case "little": return false
        case "big": return true
        default:
            throw CheckpointError.corruptFile(file: file, reason: "'\(entry.name)' says '\(text.prefix(40))', not 'little' or 'big'")
        }
    }

    // MARK: - From the pickled object to named tensors

    private static func namedTensors(_ root: PickleValue, file: String) throws
        -> (tensors: [(name: String, tensor: TorchTensorRef)], unwrappedKey: String?) {
        guard case let .dict(top) = root else {
            throw CheckpointError.unsupportedContent(
                file: file,
                reason: "the checkpoint holds a \(root.kindName), not a dict of named tensors; save model.state_dict() instead")
        }
        var scope = top
        var unwrapped: String?
        let holdsTensorsDirectly = top.entries.contains { if case .tensor = $0.value { return true } else { return false } }
        if !holdsTensorsDirectly {
            let wrappers = top.entries.filter { entry in
                guard case let .string(key) = entry.key, wrapperKeys.contains(key), case .dict = entry.value else { return false }
                return true
            }
            if wrappers.count == 1, case let .dict(inner) = wrappers[0].value {
                scope = inner
                unwrapped = wrappers[0].key.text
            }
        }

        var result: [(name: String, tensor: TorchTensorRef)] = []
        var seen = Set<String>()
        var visiting = Set<ObjectIdentifier>()

        func visit(_ value: PickleValue, path: [String], depth: Int) throws {
            guard depth <= 32 else {
                throw CheckpointError.unsupportedContent(file: file, reason: "the checkpoint nests containers more than 32 deep at '\(path.joined(separator: "."))'")
            }
            switch value {
            case let .tensor(tensor):
                let name = path.joined(separator: ".")
                guard seen.insert(name).inserted else {
                    throw CheckpointError.unsupportedContent(file: file, reason: "two tensors are both named '\(name)' after flattening nested dicts")
                }
                result.append((name, tensor))
            case let .dict(dict):
                guard visiting.insert(ObjectIdentifier(dict)).inserted else {
                    throw CheckpointError.unsupportedContent(file: file, reason: "the dict at '\(path.joined(separator: "."))' contains itself")
                }
                for (key, item) in dict.entries { try visit(item, path: path + [key.text], depth: depth + 1) }
                visiting.remove(ObjectIdentifier(dict))
            case let .list(list):
                guard visiting.insert(ObjectIdentifier(list)).inserted else {
                    throw CheckpointError.unsupportedContent(file: file, reason: "the list at '\(path.joined(separator: "."))' contains itself")
                }
                for (index, item) in list.items.enumerated() { try visit(item, path: path + [String(index)], depth: depth + 1) }
                visiting.remove(ObjectIdentifier(list))
            case let .tuple(items):
                for (index, item) in items.enumerated() { try visit(item, path: path + [String(index)], depth: depth + 1) }
            case .none, .bool, .int, .float, .string, .global, .storage:
                break  // bookkeeping such as an epoch count: not weights
            }
        }
        try visit(.dict(scope), path: [], depth: 0)

        guard !result.isEmpty else {
            throw CheckpointError.unsupportedContent(file: file, reason: "the checkpoint holds no tensors")
        }
        return (result, unwrapped)
    }
}
