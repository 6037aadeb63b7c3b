// Bounds-checked little-endian reads from untrusted bytes. Every parser in this target reads
// through these helpers, so a malformed file yields nil (turned into a CheckpointError by the
// caller) instead of a trap.

import Foundation

extension Data {
    /// The fixed-width little-endian integer at `offset` (relative to the first byte), or nil when
    /// it does not lie wholly inside the data.
    func readLE<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T? {
        let size = MemoryLayout<T>.size
        guard offset >= 0, offset <= count - size else { return nil }
        return withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }

    /// The bytes `offset ..< offset + length` (relative to the first byte), sharing storage with
    /// `self` (no copy), or nil when out of range. Like any Data slice its indices do not start at
    /// zero: read it only through these helpers or `withUnsafeBytes`.
    func slice(offset: Int, length: Int) -> Data? {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else { return nil }
        let start = startIndex + offset
        return self[start ..< start + length]
    }
}

/// Multiplies the dimensions of a shape, or nil on overflow or a negative dimension.
func checkedElementCount(_ shape: [Int]) -> Int? {
    var product = 1
    for dimension in shape {
        guard dimension >= 0 else { return nil }
        let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
        guard !overflow else { return nil }
        product = next
    }
    return product
}

/// Formats a byte count for messages ("1234 bytes").
func bytesText(_ count: Int) -> String { count == 1 ? "1 byte" : "\(count) bytes" }
