import Foundation
import UniNLUCore

// Reading JSON Lines input (a file or "-" for standard input) one line at a time, with each
// line's problems reported by line number instead of aborting the whole run.

enum JSONLines {
    struct LineError: Error, CustomStringConvertible {
        let line: Int
        let message: String
        var description: String { "line \(line): \(message)" }
    }

    /// Calls `body(lineNumber, value)` for every non-blank line; invalid lines get `.failure`.
    static func forEachLine(path: String, _ body: (Int, Result<JSONValue, LineError>) async throws -> Void) async throws {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let read = FileManager.default.contents(atPath: path) else {
                throw CLIError("cannot read input file \(path)")
            }
            data = read
        }
        var lineNumber = 0
        for rawLine in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var bytes = Array(rawLine)
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            guard String(validating: bytes, as: UTF8.self) != nil else {
                try await body(lineNumber, .failure(LineError(line: lineNumber, message: "not valid UTF-8")))
                continue
            }
            do {
                try await body(lineNumber, .success(try JSONParser.parse(bytes: bytes)))
            } catch let error as JSONParseError {
                try await body(lineNumber, .failure(LineError(line: lineNumber, message: error.description)))
            }
        }
    }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
