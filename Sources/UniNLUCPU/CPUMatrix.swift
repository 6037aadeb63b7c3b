// A row-major FP32 matrix in host memory: the CPU backend's activation type.

public final class CPUMatrix: @unchecked Sendable {
    // @unchecked: the buffer is written only while the op that created it runs; afterwards the
    // matrix is treated as immutable by every caller (ops always return new matrices).
    public let rows: Int
    public let columns: Int
    public let storage: UnsafeMutableBufferPointer<Float>

    public init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
        storage = .allocate(capacity: max(rows * columns, 1))
        storage.initialize(repeating: 0)
    }

    public convenience init(rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == rows * columns, "values must fill the matrix")
        self.init(rows: rows, columns: columns)
        _ = storage.initialize(from: values)
    }

    deinit { storage.deallocate() }

    public var pointer: UnsafeMutablePointer<Float> { storage.baseAddress! }
    public func row(_ index: Int) -> UnsafeMutablePointer<Float> { pointer + index * columns }
    public var values: [Float] { Array(storage[0..<(rows * columns)]) }
}
