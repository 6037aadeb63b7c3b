import CCUDA

// The CUDA backend's operand types: activations in pooled device memory (FP16 or FP32 by policy),
// weights converted once and owned by the layer.

/// A row-major [rows × columns] activation in device memory.
public final class CUDAMatrix: @unchecked Sendable {
    // @unchecked: immutable handle; the contents are written only by the op that created it, in
    // stream order, and read by later ops on the same stream.
    public let rows: Int
    public let columns: Int
    let buffer: DeviceBuffer
    var pointer: CUdeviceptr { buffer.pointer }

    init(rows: Int, columns: Int, buffer: DeviceBuffer) {
        self.rows = rows
        self.columns = columns
        self.buffer = buffer
    }
}

public final class CUDALinear: @unchecked Sendable {
    // @unchecked: immutable after upload.
    public let outFeatures: Int
    public let inFeatures: Int
    let weight: ArenaSlice
    let bias: ArenaSlice

    init(outFeatures: Int, inFeatures: Int, weight: ArenaSlice, bias: ArenaSlice) {
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.weight = weight
        self.bias = bias
    }
}

public final class CUDANorm: @unchecked Sendable {
    // @unchecked: immutable after upload.
    public let width: Int
    public let epsilon: Float
    /// gamma then beta, FP32.
    let parameters: ArenaSlice
    var gamma: CUdeviceptr { parameters.pointer }
    var beta: CUdeviceptr { parameters.pointer + CUdeviceptr(width * 4) }

    init(width: Int, epsilon: Float, parameters: ArenaSlice) {
        self.width = width
        self.epsilon = epsilon
        self.parameters = parameters
    }
}

public final class CUDAEmbeddingTable: @unchecked Sendable {
    // @unchecked: immutable after upload.
    public let rows: Int
    public let width: Int
    let values: ArenaSlice

    init(rows: Int, width: Int, values: ArenaSlice) {
        self.rows = rows
        self.width = width
        self.values = values
    }
}
