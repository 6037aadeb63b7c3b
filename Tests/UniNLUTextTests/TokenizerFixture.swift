import Foundation
import Testing
import UniNLUText

/// The tokenizer fixtures recorded from HF transformers 4.33.0 / tokenizers 0.13.3 (`BertTokenizerFast`), see
/// Tests/Fixtures/*/README.md.
enum ModelFixture: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case siameseUIE = "siamese_uie"
    case rexUniNLU = "rex_uninlu"

    var testDescription: String { rawValue }

    /// Tests/Fixtures, found from this file so the tests run from any working directory.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    var directory: URL { Self.root.appendingPathComponent(rawValue) }
    var modelDirectory: URL { directory.appendingPathComponent("model") }

    /// The decoded `tokenizer.json` of this model (loaded once).
    var recording: TokenizerRecording {
        get throws {
            switch self {
            case .siameseUIE: return try Self.siameseRecording.get()
            case .rexUniNLU: return try Self.rexRecording.get()
            }
        }
    }

    /// The tokenizer as the upstream pipelines build it (loaded once; it is immutable and Sendable).
    var tokenizer: BertTokenizer {
        get throws {
            switch self {
            case .siameseUIE: return try Self.siameseTokenizer.get()
            case .rexUniNLU: return try Self.rexTokenizer.get()
            }
        }
    }

    private static let siameseRecording = Result { try TokenizerRecording.load(ModelFixture.siameseUIE) }
    private static let rexRecording = Result { try TokenizerRecording.load(ModelFixture.rexUniNLU) }
    private static let siameseTokenizer = Result { try ModelFixture.siameseUIE.loadTokenizer() }
    private static let rexTokenizer = Result { try ModelFixture.rexUniNLU.loadTokenizer() }

    private func loadTokenizer() throws -> BertTokenizer {
        // Added tokens in id order = the order upstream passes them to `add_special_tokens`.
        let added = try recording.addedTokens.sorted { $0.value < $1.value }.map(\.key)
        return try BertTokenizer.load(modelDirectory: modelDirectory, addedTokens: added)
    }
}

/// `tokenizer.json` of a fixture directory.
struct TokenizerRecording: Decodable, Sendable {
    struct Item: Decodable, Sendable {
        var text: String
        var ids: [Int32]
        var tokens: [String]
        var offsets: [[Int]]
    }

    struct PaddedBatch: Decodable, Sendable {
        var texts: [String]
        var maxLength: Int
        var ids: [[Int32]]
        var attentionMask: [[Int32]]

        enum CodingKeys: String, CodingKey {
            case texts, ids
            case maxLength = "max_length"
            case attentionMask = "attention_mask"
        }
    }

    struct PairWindows: Decodable, Sendable {
        struct Window: Decodable, Sendable {
            var ids: [Int32]
            var tokenTypeIds: [Int32]
            var offsets: [[Int]]

            enum CodingKeys: String, CodingKey {
                case ids, offsets
                case tokenTypeIds = "token_type_ids"
            }
        }

        var first: String
        var second: String
        var maxLength: Int
        var stride: Int
        var windows: [Window]

        enum CodingKeys: String, CodingKey {
            case first, second, stride, windows
            case maxLength = "max_length"
        }
    }

    var vocabSizeBase: Int
    var lenWithAdded: Int
    var addedTokens: [String: Int32]
    var items: [Item]
    var paddedBatches: [PaddedBatch]
    var pairWindows: [PairWindows]

    enum CodingKeys: String, CodingKey {
        case items
        case vocabSizeBase = "vocab_size_base"
        case lenWithAdded = "len_with_added"
        case addedTokens = "added_tokens"
        case paddedBatches = "padded_batches"
        case pairWindows = "pair_windows"
    }

    static func load(_ fixture: ModelFixture) throws -> TokenizerRecording {
        let url = fixture.directory.appendingPathComponent("tokenizer.json")
        return try JSONDecoder().decode(TokenizerRecording.self, from: Data(contentsOf: url))
    }
}

/// Renders ids with their vocabulary pieces and offsets, for failure messages: `101 [CLS] (0,0) | 782 人 (0,1)`.
func describe(ids: [Int32], offsets: [[Int]]? = nil, with tokenizer: BertTokenizer) -> String {
    ids.enumerated().map { index, id in
        let piece = tokenizer.token(of: id) ?? "?"
        let offset = offsets.flatMap { index < $0.count ? " (\($0[index].map(String.init).joined(separator: ",")))" : nil } ?? ""
        return "\(id) \(piece.debugDescription)\(offset)"
    }.joined(separator: " | ")
}

extension Array where Element == TokenOffset {
    var pairs: [[Int]] { map { [$0.start, $0.end] } }
}
