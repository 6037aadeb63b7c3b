import Foundation
import UniNLUCore
import UniNLUPipelines

// The labelled data `uninlu validate` scores against: JSON Lines, one record per line,
//     {"text": "…", "schema": {…} (or "labels": […]), "output": [[{"type", "span", "offset": [s, e]}, …], …]}
// "output" is the gold answer in the pipeline's own output shape ({"output": [...]} is accepted too).
// A path is identified by its sequence of (type, offset) pairs; spans are not compared.

/// One element of a path as scored: its type and code-point offsets.
struct PathElement: Hashable {
    let type: String
    let start: Int
    let end: Int
}

/// A path as scored; its type is the type of its last element.
struct PathKey: Hashable {
    let elements: [PathElement]
    var type: String { elements.last?.type ?? "" }

    init(_ elements: [PathElement]) { self.elements = elements }

    init(_ spans: [ExtractedSpan]) {
        elements = spans.map { PathElement(type: $0.type, start: $0.offset.first ?? -1, end: $0.offset.last ?? -1) }
    }

    var json: JSONValue {
        .array(elements.map { .object([("type", .string($0.type)), ("offset", .array([.number(Double($0.start)), .number(Double($0.end))]))]) })
    }
}

struct ValidationRecord {
    let line: Int
    let text: String
    let schema: Schema
    let gold: [PathKey]
}

struct ValidationData {
    var records: [ValidationRecord] = []
    /// Lines skipped under --skip-invalid: (line, reason).
    var skipped: [(line: Int, reason: String)] = []

    /// Reads and checks every line before anything runs: a bad line is an error naming it (or,
    /// with `skipInvalid`, is counted and left out).
    static func read(path: String, skipInvalid: Bool, limit: Int?) async throws -> ValidationData {
        var data = ValidationData()
        var lines = 0
        try await JSONLines.forEachLine(path: path) { lineNumber, parsed in
            lines += 1
            if let limit, data.records.count >= limit { return }
            do {
                data.records.append(try record(line: lineNumber, try parsed.get()))
            } catch {
                let message = (error as? JSONLines.LineError)?.message ?? "\(error)"
                guard skipInvalid else {
                    throw CLIError("\(path) line \(lineNumber): \(message) (--skip-invalid skips such lines)")
                }
                data.skipped.append((lineNumber, message))
            }
        }
        if lines == 0 { throw CLIError("\(path) holds no records: give one {\"text\", \"schema\", \"output\"} JSON object per line") }
        if data.records.isEmpty {
            throw CLIError("\(path): none of its \(lines) record(s) is valid (first problem, line \(data.skipped[0].line): \(data.skipped[0].reason))")
        }
        return data
    }

    static func record(line: Int, _ value: JSONValue) throws -> ValidationRecord {
        guard case .object = value else { throw CLIError("each line must be a JSON object, found \(value.kindName)") }
        guard let textValue = value["text"] else { throw CLIError("missing \"text\"") }
        guard let text = textValue.stringValue else { throw CLIError("\"text\" must be a string, found \(textValue.kindName)") }
        let schema: Schema
        if let value = value["schema"] {
            schema = try Schema(json: value)
        } else if let labels = value["labels"] {
            schema = try Schema(json: labels)
        } else {
            throw CLIError("missing \"schema\" (or \"labels\")")
        }
        guard var output = value["output"] else { throw CLIError("missing the gold answer \"output\" (a list of paths)") }
        if case .object = output, let inner = output["output"] { output = inner }
        guard let paths = output.arrayValue else {
            throw CLIError("\"output\" must be a list of paths (each a list of {\"type\", \"span\", \"offset\"}), found \(output.kindName)")
        }
        let gold = try paths.enumerated().map { index, path -> PathKey in
            guard let elements = path.arrayValue else { throw CLIError("\"output\"[\(index)] must be a list, found \(path.kindName)") }
            return PathKey(try elements.map { element in
                guard let type = element["type"]?.stringValue else { throw CLIError("\"output\"[\(index)]: each element needs a string \"type\"") }
                guard let offset = element["offset"]?.arrayValue, offset.count == 2,
                      let start = offset[0].intValue, let end = offset[1].intValue else {
                    throw CLIError("\"output\"[\(index)]: each element needs an \"offset\" [start, end] of integers")
                }
                return PathElement(type: type, start: start, end: end)
            })
        }
        return ValidationRecord(line: line, text: text, schema: schema, gold: gold)
    }
}
