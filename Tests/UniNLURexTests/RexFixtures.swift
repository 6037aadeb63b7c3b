import Foundation
import UniNLUCore

// Access to the upstream RexUniNLU golden fixtures (Tests/Fixtures/rex_uninlu, see its README.md and
// Tests/Fixtures/PROVENANCE.md): cases, and per forward the ids, position ids, RLE 2-D mask and Z entries.

enum RexFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/rex_uninlu")

    static var modelURL: URL { root.appendingPathComponent("model") }

    static let cases: [JSONValue] = {
        guard let data = try? Data(contentsOf: root.appendingPathComponent("cases.json")),
              let json = try? JSONParser.parse(bytes: Array(data), maxDepth: 256)
        else { return [] }
        return json["cases"]?.arrayValue ?? []
    }()

    static var caseIDs: [String] { cases.compactMap { $0["id"]?.stringValue } }

    static func fixture(_ id: String) -> JSONValue? { cases.first { $0["id"]?.stringValue == id } }

    /// Decodes `attention_mask_rle` ("1x6,0x12,1x15" per row) into a row-major n x n mask.
    static func decodeMask(_ rows: [JSONValue]) -> [UInt8] {
        var mask: [UInt8] = []
        for row in rows {
            for run in (row.stringValue ?? "").split(separator: ",") {
                let parts = run.split(separator: "x")
                guard parts.count == 2, let value = UInt8(parts[0]), let count = Int(parts[1]) else { continue }
                mask += [UInt8](repeating: value, count: count)
            }
        }
        return mask
    }

    /// The model input of one recorded forward.
    static func job(_ forward: JSONValue) -> RexForwardJob {
        RexForwardJob(
            ids: forward["input_ids"]?.int32Array ?? [], positions: forward["position_ids"]?.int32Array ?? [],
            mask: decodeMask(forward["attention_mask_rle"]?.arrayValue ?? []))
    }
}

extension JSONValue {
    var int32Array: [Int32] { (arrayValue ?? []).compactMap { $0.intValue.map(Int32.init) } }
    var doubleArray: [Double] { (arrayValue ?? []).compactMap(\.doubleValue) }
}

/// Compares our Z against the entries upstream recorded for one forward; returns problems found.
enum ZComparison {
    static func problems(ours z: RexTokenPairLogits, recorded forward: JSONValue, tolerance: Double = 1e-4) -> [String] {
        var problems: [String] = []
        let n = z.count
        let hint = forward["num_hint_tokens"]?.intValue ?? 0
        func check(_ i: Int, _ j: Int, _ expected: Double, slack: Double = 0, what: String) {
            guard i >= 0, j >= 0, i < n, j < n else { problems.append("\(what) index (\(i),\(j)) outside \(n)"); return }
            let ours = Double(z[i, j])
            if abs(ours - expected) > tolerance * max(1, abs(expected)) + slack * abs(expected) {
                problems.append("\(what) Z[\(i),\(j)] = \(ours), upstream \(expected)")
            }
        }
        if case let .object(columns)? = forward["Z_type_cols"] {
            for (key, values) in columns {
                guard let k = Int(key) else { continue }
                for (offset, value) in values.doubleArray.enumerated() { check(hint + offset, k, value, what: "head→type") }
            }
        }
        if case let .object(rows)? = forward["Z_type_rows"] {
            for (key, values) in rows {
                guard let k = Int(key) else { continue }
                for (offset, value) in values.doubleArray.enumerated() { check(k, hint + offset, value, what: "type→tail") }
            }
        }
        if let pairs = forward["Z_text_pairs_positive"]?.arrayValue {
            var positive = Set<Int>()
            for pair in pairs {
                let p = pair.doubleArray
                guard p.count == 3 else { continue }
                check(Int(p[0]), Int(p[1]), p[2], what: "text pair")
                positive.insert(Int(p[0]) * n + Int(p[1]))
            }
            // Same decisions: exactly these text pairs h ≤ t are positive.
            for h in hint..<n {
                for t in h..<n where (z[h, t] > 0) != positive.contains(h * n + t) {
                    problems.append("text pair (\(h),\(t)): ours \(z[h, t]) disagrees in sign with upstream")
                }
            }
        }
        if let full = forward["Z_full_5sig"]?.arrayValue {
            for (i, row) in full.enumerated() {
                for (j, value) in row.doubleArray.enumerated() { check(i, j, value, slack: 5e-5, what: "full") }
            }
        }
        if let total = forward["where_count_total"]?.intValue {
            // The count covers the whole matrix, prompt-to-prompt entries included that no decision reads:
            // an entry within the tolerance of 0 may fall on either side.
            let ours = z.values.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
            let nearZero = z.values.reduce(0) { $0 + (abs($1) < Float(tolerance) ? 1 : 0) }
            if abs(ours - total) > nearZero {
                problems.append("\(ours) entries Z > 0, upstream \(total) (\(nearZero) within \(tolerance) of 0)")
            }
        }
        return problems
    }
}
