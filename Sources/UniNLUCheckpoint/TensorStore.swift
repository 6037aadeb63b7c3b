// Strict loading of a model's weights: the model takes each tensor by its verbatim upstream name
// and expected shape, declares the tensors it deliberately does not use, and `finish()` then
// proves that the checkpoint and the model agree exactly.
//
// Problems are collected, not thrown one at a time, so that a user loading the wrong weights
// sees every missing, mis-shaped and unused tensor in one message:
//   - `take` of a missing or mis-shaped tensor records the problem and returns zeros of the
//     expected shape, so that model construction can go on; those zeros are never used because
//     `finish()` then throws. Calling `finish()` is therefore mandatory.
//   - `finish()` throws nothing when all is well; the problem itself when there is exactly one
//     (`.missingTensor`, `.shapeMismatch`, `.quantizedShapeMismatch` or `.unexpectedTensors`);
//     otherwise `.incompatibleCheckpoint` listing them all.
//   - A damaged file (bad bytes rather than wrong names) is thrown by `take` at once, and so is
//     a U8 weight in a file that does not declare it quantized (`.unquantizedByteTensor`).

import Foundation

public final class TensorStore {
    public let reader: any CheckpointReader

    private let available: Set<String>
    private var used: Set<String> = []
    private var ignoredNames: Set<String> = []
    private var ignoredPrefixes: [String] = []
    private var problems: [CheckpointError] = []

    public init(_ reader: any CheckpointReader) {
        self.reader = reader
        self.available = Set(reader.tensorNames)
    }

    /// The tensor `name` as Float32, which must have exactly `shape`. A quantized tensor
    /// (WeightQuantization.swift) is dequantized, `shape` being its float shape.
    public func take(_ name: String, shape: [Int]) throws -> [Float] {
        guard available.contains(name) else {
            problems.append(.missingTensor(file: file, name: name, expectedShape: shape, nearby: suggestions(for: name)))
            return placeholder(shape)
        }
        return try takePresent(name, shape: shape)
    }

    /// Like `take`, but a tensor the file does not have is no problem and gives nil: for weights
    /// that some exports include and others leave out.
    public func takeIfPresent(_ name: String, shape: [Int]) throws -> [Float]? {
        guard available.contains(name) else { return nil }
        return try takePresent(name, shape: shape)
    }

    /// The raw tensor (any dtype) for the rare weight that is not used as Float32, with the same
    /// bookkeeping as `take`: nil when missing or mis-shaped, the problem being recorded.
    public func takeTensor(_ name: String, shape: [Int]) throws -> CheckpointTensor? {
        guard available.contains(name) else {
            problems.append(.missingTensor(file: file, name: name, expectedShape: shape, nearby: suggestions(for: name)))
            return nil
        }
        used.insert(name)
        let tensor = try reader.tensor(named: name)
        guard tensor.logicalShape == shape else {  // a quantized tensor is matched by its float shape
            problems.append(.shapeMismatch(file: file, name: name, expected: shape, actual: tensor.logicalShape))
            return nil
        }
        return tensor
    }

    /// Declares tensors the model does not use (e.g. an unused pooler, or a buffer such as
    /// `position_ids` that the model recomputes). Names the file lacks are fine.
    public func ignore(_ names: String...) { ignore(names) }

    public func ignore(_ names: [String]) { ignoredNames.formUnion(names) }

    /// Declares every tensor whose name starts with `prefix` unused.
    public func ignore(prefix: String) { ignoredPrefixes.append(prefix) }

    /// Tensors neither taken nor ignored yet, in file order.
    public var unusedNames: [String] {
        reader.tensorNames.filter { !used.contains($0) && !isIgnored($0) }
    }

    /// Throws when any tensor was missing or mis-shaped, or when the file holds tensors that were
    /// neither taken nor ignored. See the top of this file for which error.
    public func finish() throws {
        var all = problems
        let unused = unusedNames
        if !unused.isEmpty { all.append(.unexpectedTensors(file: file, names: unused)) }
        if all.count == 1, let only = all.first { throw only }
        if all.count > 1 { throw CheckpointError.incompatibleCheckpoint(file: file, problems: all) }
    }

    private var file: String { reader.url.path }

    private func takePresent(_ name: String, shape: [Int]) throws -> [Float] {
        used.insert(name)
        let tensor = try reader.tensor(named: name)
        if let quantization = tensor.quantization {
            // Q4_0 and friends: the model asks for the float shape; the bytes hold blocks of it.
            guard tensor.logicalShape == shape else {
                problems.append(.quantizedShapeMismatch(file: file, name: name, scheme: quantization.rawValue,
                                                        expected: shape, stored: tensor.shape))
                return placeholder(shape)
            }
            return try tensor.floats()
        }
        if tensor.dtype == .uint8 {
            throw CheckpointError.unquantizedByteTensor(file: file, tensor: name, shape: tensor.shape)
        }
        guard tensor.shape == shape else {
            problems.append(.shapeMismatch(file: file, name: name, expected: shape, actual: tensor.shape))
            return placeholder(shape)
        }
        return try tensor.floats()
    }

    /// Names not taken yet (ignored ones included: ignoring too much is a mistake worth showing).
    private func suggestions(for name: String) -> [String] {
        NearbyNames.find(name, in: reader.tensorNames.filter { !used.contains($0) })
    }

    private func isIgnored(_ name: String) -> Bool {
        ignoredNames.contains(name) || ignoredPrefixes.contains { name.hasPrefix($0) }
    }

    private func placeholder(_ shape: [Int]) -> [Float] {
        [Float](repeating: 0, count: checkedElementCount(shape) ?? 0)
    }
}
