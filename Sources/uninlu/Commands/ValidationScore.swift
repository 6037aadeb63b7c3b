import Foundation
import UniNLUCore

// Scores of `uninlu validate`: per path type (the type of a path's last element) and overall
// (micro-averaged), TP/FP/FN with precision, recall and F1; and the flips between two
// configurations of one model. Paths are compared as multisets of (type, offset) sequences, so a
// path predicted twice but gold once counts one TP and one FP.

struct Counts {
    var tp = 0, fp = 0, fn = 0

    var gold: Int { tp + fn }
    var predicted: Int { tp + fp }
    /// 0 when nothing was predicted (and recall 0 when nothing was gold): scikit-learn's zero_division=0.
    var precision: Double { predicted == 0 ? 0 : Double(tp) / Double(predicted) }
    var recall: Double { gold == 0 ? 0 : Double(tp) / Double(gold) }
    var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }

    static func += (a: inout Counts, b: Counts) {
        a.tp += b.tp
        a.fp += b.fp
        a.fn += b.fn
    }

    var json: JSONValue {
        .object([
            ("gold", .number(Double(gold))), ("predicted", .number(Double(predicted))),
            ("tp", .number(Double(tp))), ("fp", .number(Double(fp))), ("fn", .number(Double(fn))),
            ("precision", .number(precision)), ("recall", .number(recall)), ("f1", .number(f1)),
        ])
    }
}

struct ValidationScore {
    /// Types in order of first appearance (gold before predicted, record by record).
    private(set) var types: [String] = []
    private(set) var perType: [String: Counts] = [:]
    private(set) var overall = Counts()

    mutating func add(gold: [PathKey], predicted: [PathKey]) {
        var goldCount: [PathKey: Int] = [:], predictedCount: [PathKey: Int] = [:]
        for path in gold { goldCount[path, default: 0] += 1 }
        for path in predicted { predictedCount[path, default: 0] += 1 }
        for path in gold + predicted where perType[path.type] == nil {
            types.append(path.type)
            perType[path.type] = Counts()
        }
        for (path, count) in goldCount {
            let matched = min(count, predictedCount[path] ?? 0)
            let counts = Counts(tp: matched, fp: 0, fn: count - matched)
            perType[path.type]! += counts
            overall += counts
        }
        for (path, count) in predictedCount {
            let counts = Counts(tp: 0, fp: count - min(count, goldCount[path] ?? 0), fn: 0)
            perType[path.type]! += counts
            overall += counts
        }
    }

    var perTypeJSON: JSONValue { .object(types.map { ($0, perType[$0]!.json) }) }
}

/// Decisions on which two configurations disagree.
struct Flips {
    struct Example {
        let line: Int
        let text: String
        let onlyPrimary: [PathKey]
        let onlyAgainst: [PathKey]
    }

    static let maxExamples = 10

    /// Paths the primary configuration predicted and the other did not, and the reverse.
    private(set) var onlyPrimary = 0
    private(set) var onlyAgainst = 0
    private(set) var recordsDiffering = 0
    private(set) var examples: [Example] = []

    mutating func add(record: ValidationRecord, primary: [PathKey], against: [PathKey]) {
        let a = Self.difference(primary, against), b = Self.difference(against, primary)
        guard !a.isEmpty || !b.isEmpty else { return }
        onlyPrimary += a.count
        onlyAgainst += b.count
        recordsDiffering += 1
        if examples.count < Self.maxExamples {
            examples.append(Example(line: record.line, text: record.text, onlyPrimary: a, onlyAgainst: b))
        }
    }

    /// The multiset difference x − y, in x's order.
    private static func difference(_ x: [PathKey], _ y: [PathKey]) -> [PathKey] {
        var remaining: [PathKey: Int] = [:]
        for path in y { remaining[path, default: 0] += 1 }
        return x.filter { path in
            if let count = remaining[path], count > 0 {
                remaining[path] = count - 1
                return false
            }
            return true
        }
    }

    var json: JSONValue {
        .object([
            ("only_primary", .number(Double(onlyPrimary))), ("only_against", .number(Double(onlyAgainst))),
            ("records_differing", .number(Double(recordsDiffering))),
            ("examples", .array(examples.map { example in
                .object([
                    ("line", .number(Double(example.line))), ("text", .string(example.text)),
                    ("only_primary", .array(example.onlyPrimary.map(\.json))),
                    ("only_against", .array(example.onlyAgainst.map(\.json))),
                ])
            })),
        ])
    }
}
