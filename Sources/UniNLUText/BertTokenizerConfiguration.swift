import Foundation

/// The `tokenizer_config.json` settings that change what `BertTokenizerFast` does, with HF's defaults for
/// keys that are absent (and for a missing file): lowercase, pad CJK ideographs, strip accents iff lowercasing.
public struct BertTokenizerConfiguration: Sendable, Decodable, Equatable {
    /// `do_lower_case` (default `true`).
    public var doLowerCase: Bool
    /// `tokenize_chinese_chars` (default `true`): surround CJK ideographs with spaces so each is a word.
    public var tokenizeChineseChars: Bool
    /// `strip_accents` (default `nil`): `nil` means "same as `doLowerCase`", as in HF's BertNormalizer.
    public var stripAccents: Bool?
    /// `model_max_length`, if the file names one that fits an `Int` (HF writes 1e30 for "no limit": read as `nil`).
    /// Informational: encoding never truncates on its own.
    public var modelMaxLength: Int?
    /// `tokenizer_class`, if present (e.g. `BertTokenizer`).
    public var tokenizerClass: String?

    public init(
        doLowerCase: Bool = true, tokenizeChineseChars: Bool = true, stripAccents: Bool? = nil,
        modelMaxLength: Int? = nil, tokenizerClass: String? = nil
    ) {
        self.doLowerCase = doLowerCase
        self.tokenizeChineseChars = tokenizeChineseChars
        self.stripAccents = stripAccents
        self.modelMaxLength = modelMaxLength
        self.tokenizerClass = tokenizerClass
    }

    /// Whether accents are stripped (NFD, then drop nonspacing marks), resolving `nil` as HF does.
    public var stripsAccents: Bool { stripAccents ?? doLowerCase }

    enum CodingKeys: String, CodingKey {
        case doLowerCase = "do_lower_case"
        case tokenizeChineseChars = "tokenize_chinese_chars"
        case stripAccents = "strip_accents"
        case modelMaxLength = "model_max_length"
        case tokenizerClass = "tokenizer_class"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        doLowerCase = try container.decodeIfPresent(Bool.self, forKey: .doLowerCase) ?? true
        tokenizeChineseChars = try container.decodeIfPresent(Bool.self, forKey: .tokenizeChineseChars) ?? true
        stripAccents = try container.decodeIfPresent(Bool.self, forKey: .stripAccents)
        tokenizerClass = try? container.decodeIfPresent(String.self, forKey: .tokenizerClass)
        // transformers saves `model_max_length: 1000000000000000019884624838656` (int(1e30)) when there is no
        // limit; that does not fit an Int, so anything that is not a representable integer reads as "no limit".
        if let value = try? container.decodeIfPresent(Int.self, forKey: .modelMaxLength) {
            modelMaxLength = value
        } else {
            modelMaxLength = nil
        }
    }

    /// Reads `tokenizer_config.json`. Keys this tokenizer does not use are ignored.
    public static func load(from tokenizerConfigURL: URL) throws -> BertTokenizerConfiguration {
        let data: Data
        do {
            data = try Data(contentsOf: tokenizerConfigURL)
        } catch {
            throw TokenizerError.configurationInvalid(path: tokenizerConfigURL.path, reason: error.localizedDescription)
        }
        do {
            return try JSONDecoder().decode(BertTokenizerConfiguration.self, from: data)
        } catch let error as DecodingError {
            throw TokenizerError.configurationInvalid(path: tokenizerConfigURL.path, reason: Self.describe(error))
        } catch {
            throw TokenizerError.configurationInvalid(path: tokenizerConfigURL.path, reason: "\(error)")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context),
            .dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
