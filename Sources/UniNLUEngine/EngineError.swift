// Errors of loading and running a model, each with what to do about it.

public enum EngineError: Error, CustomStringConvertible {
    case modelDirectoryNotFound(String)
    case missingModelFile(directory: String, file: String)
    case invalidConfig(file: String, reason: String)
    case unsupportedModel(directory: String, reason: String)
    case backendUnavailable(backend: String, reason: String)
    case familyNotImplemented(ModelFamily)
    case unsupportedPrecision(precision: String, backend: String, supported: [String])
    /// A CUDA device ordinal the machine does not have.
    case deviceUnavailable(device: Int, deviceCount: Int)
    /// `--fp16-recheck-margin` asked of a model or engine it does not apply to, or out of range.
    case recheckNotApplicable(reason: String)

    public var description: String {
        switch self {
        case let .modelDirectoryNotFound(path): return "model directory \(path) does not exist or is not a directory"
        case let .missingModelFile(directory, file):
            return "model directory \(directory) has no \(file) (a ModelScope model directory needs config.json, vocab.txt and model.safetensors or pytorch_model.bin)"
        case let .invalidConfig(file, reason): return "cannot read \(file): \(reason)"
        case let .unsupportedModel(directory, reason):
            return "\(directory) is not a SiameseUIE or RexUniNLU model: \(reason)"
        case let .backendUnavailable(backend, reason): return "backend \(backend) is not available: \(reason)"
        case let .familyNotImplemented(family): return "model family \(family.rawValue) is not supported by this build yet"
        case let .unsupportedPrecision(precision, backend, supported):
            return "the \(backend) backend cannot run --precision \(precision); it supports \(supported.joined(separator: ", "))"
        case let .deviceUnavailable(device, count):
            let have = count == 0 ? "no CUDA device" : "\(count) CUDA device\(count == 1 ? "" : "s") (0\(count > 1 ? "...\(count - 1)" : ""))"
            return "CUDA device \(device) does not exist: this machine has \(have); list existing devices with --devices (uninlu doctor shows them)"
        case let .recheckNotApplicable(reason):
            return "--fp16-recheck-margin: \(reason)"
        }
    }
}
