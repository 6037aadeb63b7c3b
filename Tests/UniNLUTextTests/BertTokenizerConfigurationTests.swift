import Foundation
import Testing
import UniNLUText

@Suite("tokenizer_config.json")
struct BertTokenizerConfigurationTests {
    private func write(_ json: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizer_config-\(UUID().uuidString).json")
        try Data(json.utf8).write(to: url)
        return url
    }

    @Test("the fixtures' configuration reads as lowercase, CJK padding, strip_accents null, 512")
    func fixtureConfiguration() throws {
        let url = ModelFixture.rexUniNLU.modelDirectory.appendingPathComponent("tokenizer_config.json")
        let configuration = try BertTokenizerConfiguration.load(from: url)
        #expect(configuration == BertTokenizerConfiguration(modelMaxLength: 512, tokenizerClass: "BertTokenizer"))
        #expect(configuration.stripsAccents)
    }

    @Test("absent keys take HF defaults; transformers' 1e30 'no limit' reads as nil")
    func defaults() throws {
        let url = try write(#"{"model_max_length": 1000000000000000019884624838656, "added_tokens_decoder": {}}"#)
        let configuration = try BertTokenizerConfiguration.load(from: url)
        #expect(configuration.doLowerCase && configuration.tokenizeChineseChars && configuration.stripAccents == nil)
        #expect(configuration.modelMaxLength == nil)
        try? FileManager.default.removeItem(at: url)
    }

    @Test("strip_accents follows do_lower_case unless set")
    func stripAccentsResolution() {
        #expect(!BertTokenizerConfiguration(doLowerCase: false).stripsAccents)
        #expect(BertTokenizerConfiguration(doLowerCase: false, stripAccents: true).stripsAccents)
        #expect(!BertTokenizerConfiguration(doLowerCase: true, stripAccents: false).stripsAccents)
    }

    @Test("a malformed file is an error naming it and the key")
    func malformed() throws {
        let url = try write(#"{"do_lower_case": "yes"}"#)
        do {
            _ = try BertTokenizerConfiguration.load(from: url)
            Issue.record("expected configurationInvalid")
        } catch let error as TokenizerError {
            guard case .configurationInvalid(let path, let reason) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(path == url.path)
            #expect(reason.contains("do_lower_case"))
        }
        try? FileManager.default.removeItem(at: url)
    }
}
