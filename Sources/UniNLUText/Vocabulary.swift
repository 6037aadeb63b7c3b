import Foundation

/// The lines of a WordPiece `vocab.txt`: line `i` (0-based) is the token with id `i`.
///
/// Lines are split exactly as transformers' `load_vocab` reads them (Python text mode with universal
/// newlines, then `rstrip("\n")`): on `\n`, `\r\n` and `\r` only. Other Unicode line breaks are token
/// content: bert-base-chinese has U+2028 as token 343 and `##`+U+2028 as token 13502, so splitting on
/// `.newlines` would shift every later id. A trailing newline does not add an empty token; nothing else
/// (BOM, spaces) is trimmed.
public struct Vocabulary: Sendable, Equatable {
    /// Token strings by id.
    public let tokens: [String]

    public init(tokens: [String]) {
        self.tokens = tokens
    }

    /// Reads `vocab.txt`; throws when it is missing, unreadable, not UTF-8 or empty.
    public static func load(contentsOf url: URL) throws -> Vocabulary {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TokenizerError.vocabularyUnreadable(path: url.path, reason: error.localizedDescription)
        }
        let tokens = try parse(data, path: url.path)
        if tokens.isEmpty { throw TokenizerError.vocabularyEmpty(source: url.path) }
        return Vocabulary(tokens: tokens)
    }

    /// Splits file bytes into lines as described on the type. `path` only labels errors.
    static func parse(_ data: Data, path: String) throws -> [String] {
        var tokens: [String] = []
        tokens.reserveCapacity(data.count / 5)
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            var lineStart = 0
            var index = 0
            func emit(_ end: Int) throws {
                let line = UnsafeBufferPointer(rebasing: bytes[lineStart..<end])
                guard let token = String(validating: line, as: UTF8.self) else {
                    throw TokenizerError.vocabularyInvalidUTF8(path: path, line: tokens.count + 1)
                }
                tokens.append(token)
            }
            while index < bytes.count {
                let byte = bytes[index]
                if byte == 0x0A || byte == 0x0D {
                    try emit(index)
                    // "\r\n" is one line break.
                    index += (byte == 0x0D && index + 1 < bytes.count && bytes[index + 1] == 0x0A) ? 2 : 1
                    lineStart = index
                } else {
                    index += 1
                }
            }
            if lineStart < bytes.count { try emit(bytes.count) }
        }
        return tokens
    }
}
