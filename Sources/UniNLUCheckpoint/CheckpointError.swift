// Every failure of the checkpoint readers. Each case carries the path of the file (or directory)
// it is about, and its description reads "<path>: <what is wrong>. <what to do about it>" so that
// a user who only sees the message can act on it.

public enum CheckpointError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The path does not exist.
    case fileNotFound(file: String)
    /// A model directory holds none of the checkpoint files looked for. `note` says what else was
    /// seen there (for example a sharded checkpoint's index), or is nil.
    case noCheckpointInDirectory(directory: String, lookedFor: [String], note: String?)
    /// The file exists but could not be read (permissions, a directory, an I/O error).
    case unreadableFile(file: String, reason: String)
    /// Neither safetensors nor a torch.save zip archive (e.g. the pre-1.6 torch format).
    case unrecognizedFormat(file: String, reason: String)
    /// The file has the right kind but its structure is broken: truncated, bad header, offsets
    /// out of range, a damaged zip directory...
    case corruptFile(file: String, reason: String)
    /// A torch zip archive lacks an entry it needs (`data.pkl`, a storage under `data/`).
    case missingArchiveEntry(file: String, entry: String)
    /// The pickle uses an opcode a tensor checkpoint never needs. Nothing was executed.
    case unsupportedPickleOpcode(file: String, entry: String, opcode: UInt8, position: Int)
    /// The pickle names a Python global outside the allow-list (e.g. `os.system`). Nothing was
    /// imported or executed.
    case forbiddenPickleGlobal(file: String, entry: String, global: String, position: Int)
    /// The pickle's byte stream is inconsistent (truncated, stack underflow, wrong argument types).
    case malformedPickle(file: String, entry: String, reason: String, position: Int)
    /// The file is well formed but does not hold what a model checkpoint should (no dict, no tensors).
    case unsupportedContent(file: String, reason: String)
    /// A tensor's element type is not one of `TensorDType`.
    case unsupportedDType(file: String, tensor: String, dtype: String)
    /// A tensor's own description is inconsistent (size vs shape, strides outside its storage...).
    case invalidTensor(file: String, tensor: String, reason: String)
    /// `CheckpointReader.tensor(named:)` was asked for a name the file does not have.
    case tensorNotFound(file: String, name: String, nearby: [String])
    /// Integer values were asked of a floating-point tensor (or the like).
    case wrongDType(file: String, tensor: String, dtype: TensorDType, expected: String)
    /// `TensorStore`: the model needs a tensor the file does not have.
    case missingTensor(file: String, name: String, expectedShape: [Int], nearby: [String])
    /// `TensorStore`: the file's tensor has another shape than the model expects.
    case shapeMismatch(file: String, name: String, expected: [Int], actual: [Int])
    /// `TensorStore.finish()`: tensors in the file that the model neither took nor ignored.
    case unexpectedTensors(file: String, names: [String])
    /// The file's `__metadata__` names a weight encoding (`uninlu.weights`) this program does not
    /// read, and the file has U8 tensors in it.
    case unsupportedQuantization(file: String, scheme: String)
    /// A U8 tensor of a quantized file does not have the encoding's block shape.
    case invalidQuantizedTensor(file: String, tensor: String, scheme: String, reason: String)
    /// `TensorStore`: a float weight is stored as U8 but the file does not say it is quantized.
    case unquantizedByteTensor(file: String, tensor: String, shape: [Int])
    /// `TensorStore`: a quantized tensor's float shape differs from the model's.
    case quantizedShapeMismatch(file: String, name: String, scheme: String, expected: [Int], stored: [Int])
    /// `TensorStore.finish()` found several problems; each element is one of `.missingTensor`,
    /// `.shapeMismatch`, `.quantizedShapeMismatch` or `.unexpectedTensors`.
    case incompatibleCheckpoint(file: String, problems: [CheckpointError])

    /// The file or directory the error is about.
    public var file: String {
        switch self {
        case let .fileNotFound(file), let .unreadableFile(file, _), let .unrecognizedFormat(file, _),
            let .corruptFile(file, _), let .missingArchiveEntry(file, _),
            let .unsupportedPickleOpcode(file, _, _, _), let .forbiddenPickleGlobal(file, _, _, _),
            let .malformedPickle(file, _, _, _), let .unsupportedContent(file, _),
            let .unsupportedDType(file, _, _), let .invalidTensor(file, _, _),
            let .tensorNotFound(file, _, _), let .wrongDType(file, _, _, _),
            let .missingTensor(file, _, _, _), let .shapeMismatch(file, _, _, _),
            let .unexpectedTensors(file, _), let .incompatibleCheckpoint(file, _),
            let .unsupportedQuantization(file, _), let .invalidQuantizedTensor(file, _, _, _),
            let .unquantizedByteTensor(file, _, _), let .quantizedShapeMismatch(file, _, _, _, _):
            return file
        case let .noCheckpointInDirectory(directory, _, _):
            return directory
        }
    }

    public var description: String { "\(file): \(detail)" }

    /// The message without the leading path.
    public var detail: String {
        switch self {
        case .fileNotFound:
            return "no such file. Check the path, or pass the model directory that holds model.safetensors or pytorch_model.bin."
        case let .noCheckpointInDirectory(_, lookedFor, note):
            var text = "no model weights found; looked for \(lookedFor.joined(separator: ", "))"
            if let note { text += " (\(note))" }
            return text + ". Put the model's weight file in this directory, or pass the weight file itself."
        case let .unreadableFile(_, reason):
            return "cannot read the file (\(reason)). Check that it is a regular file you may read."
        case let .unrecognizedFormat(_, reason):
            return "not a checkpoint format this program reads (\(reason)). Supported are safetensors and torch.save zip archives (PyTorch 1.6 or later); convert the weights to model.safetensors."
        case let .corruptFile(_, reason):
            return "corrupt or truncated checkpoint: \(reason). Download or export the file again."
        case let .missingArchiveEntry(_, entry):
            return "the zip archive has no entry '\(entry)', so it is not a complete torch.save checkpoint. Download the file again, or re-save it with torch.save(model.state_dict(), path)."
        case let .unsupportedPickleOpcode(_, entry, opcode, position):
            let name = PickleOpcodeNames.name(of: opcode).map { " \($0)" } ?? ""
            return "\(entry) uses pickle opcode\(name) (0x\(hex(opcode))) at byte \(position), which a checkpoint of tensors never needs; nothing was executed. Re-save only the state_dict with torch.save, or convert the weights to safetensors."
        case let .forbiddenPickleGlobal(_, entry, global, position):
            return "\(entry) refers to the Python global '\(global)' at byte \(position); a weight checkpoint may only name torch tensor/storage rebuilders and collections.OrderedDict, so nothing was imported or executed. The file may be malicious or hold more than weights: re-save only the state_dict with torch.save, or convert it to safetensors."
        case let .malformedPickle(_, entry, reason, position):
            return "\(entry) is malformed at byte \(position): \(reason). The file is corrupt or truncated; download or export it again."
        case let .unsupportedContent(_, reason):
            return "\(reason)."
        case let .unsupportedDType(_, tensor, dtype):
            let known = TensorDType.allCases.map(\.rawValue).joined(separator: ", ")
            return "tensor '\(tensor)' has element type '\(dtype)', which this program does not read (it reads \(known)). Convert the checkpoint to float32."
        case let .invalidTensor(_, tensor, reason):
            return "tensor '\(tensor)' is invalid: \(reason). The file is corrupt; download or export it again."
        case let .tensorNotFound(_, name, nearby):
            return "no tensor named '\(name)'\(Self.nearbyText(nearby))."
        case let .wrongDType(_, tensor, dtype, expected):
            return "tensor '\(tensor)' holds \(dtype.rawValue) values, but \(expected) values were asked for."
        case let .missingTensor(_, name, shape, nearby):
            return "missing tensor '\(name)' (shape \(shape))\(Self.nearbyText(nearby)). The weights do not belong to this model type, or were saved from another model class."
        case let .shapeMismatch(_, name, expected, actual):
            return "tensor '\(name)' has shape \(actual) but the model expects \(expected). The model's config.json does not match these weights."
        case let .unexpectedTensors(_, names):
            let shown = names.prefix(20).joined(separator: ", ")
            let more = names.count > 20 ? " and \(names.count - 20) more" : ""
            return "\(names.count) tensor(s) in the file were not used by the model: \(shown)\(more). The weights belong to another model type or configuration."
        case let .unsupportedQuantization(_, scheme):
            let known = WeightQuantization.allCases.map(\.rawValue).joined(separator: ", ")
            return "__metadata__ says \"\(WeightQuantization.metadataKey)\": \"\(scheme)\", a weight encoding this program does not read (it reads \(known); docs/model-formats.md). Export the weights as q4_0 or as float32."
        case let .invalidQuantizedTensor(_, tensor, scheme, reason):
            return "tensor '\(tensor)' is not valid \(scheme) data: \(reason). Export the model again following docs/model-formats.md."
        case let .unquantizedByteTensor(_, tensor, shape):
            return "tensor '\(tensor)' is stored as U8 \(shape), but the file's __metadata__ does not say \"\(WeightQuantization.metadataKey)\": \"q4_0\", so its bytes are not float weights. A Q4_0 export must carry that metadata (docs/model-formats.md); otherwise save the weights as float32."
        case let .quantizedShapeMismatch(_, name, scheme, expected, stored):
            let logical = WeightQuantization(rawValue: scheme)?.logicalShape(stored: stored) ?? stored
            let wanted = WeightQuantization(rawValue: scheme)?.storedShape(logical: expected).map { ", which would be stored as \($0)" } ?? " (its last dimension must be a multiple of 32 to be stored as \(scheme))"
            return "\(scheme) tensor '\(name)' is stored as U8 \(stored), i.e. float shape \(logical), but the model expects \(expected)\(wanted). The model's config.json does not match these weights."
        case let .incompatibleCheckpoint(_, problems):
            let lines = problems.prefix(30).map { "  - \($0.detail)" }
            let more = problems.count > 30 ? ["  - ... and \(problems.count - 30) more problems"] : []
            return (["the weights do not fit the model (\(problems.count) problems):"] + lines + more)
                .joined(separator: "\n")
        }
    }

    private static func nearbyText(_ nearby: [String]) -> String {
        nearby.isEmpty ? "" : "; similar names in the file: " + nearby.map { "'\($0)'" }.joined(separator: ", ")
    }
}

private func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
}
