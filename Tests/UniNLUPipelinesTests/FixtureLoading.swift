import Foundation
import UniNLUCore

// Access to the upstream golden fixtures copied into Tests/Fixtures (see Tests/Fixtures/PROVENANCE.md).

enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    /// Parses a fixture JSON file with the order-preserving parser (schema key order matters).
    static func json(_ path: String) throws -> JSONValue {
        let data = try Data(contentsOf: url(path))
        return try JSONParser.parse(bytes: Array(data), maxDepth: 256)
    }
}

extension JSONValue {
    var int32Array: [Int32] { (arrayValue ?? []).compactMap { $0.intValue.map(Int32.init) } }
    var doubleArray: [Double] { (arrayValue ?? []).compactMap(\.doubleValue) }
}
