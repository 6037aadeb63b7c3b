import ArgumentParser
import Foundation
import UniNLUCore
import UniNLUEngine
import UniNLUText

struct TokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Show how the model tokenizes a text: {\"ids\", \"tokens\", \"offsets\"} of [CLS] text [SEP].",
        discussion: "Offsets are Unicode code points into the text, half-open; [CLS]/[SEP] are [0, 0], as the HF fast tokenizer reports them.")

    @Option(help: "Model directory (its vocab.txt and tokenizer_config.json are used). Default: $UNINLU_MODEL, else the bundled model.")
    var model: String?
    @Option(help: "The text to tokenize.") var text: String?
    @Option(help: "JSON Lines file with one {\"text\"} per line; - for stdin.") var input: String?

    func validate() throws {
        if (text == nil) == (input == nil) { throw ValidationError("give exactly one of --text and --input") }
    }

    func run() async throws {
        do {
            let directory = try ModelDirectory(url: try DefaultModel.resolve(model))
            let tokenizer = try LoadedModel.loadTokenizer(directory)
            if let text {
                print(Self.json(tokenizer.encode(text)).serialized())
                return
            }
            var failures = 0
            try await JSONLines.forEachLine(path: input ?? "-") { lineNumber, parsed in
                do {
                    let value = try parsed.get()
                    guard let text = value["text"]?.stringValue else { throw CLIError("each line needs a string \"text\"") }
                    print(Self.json(tokenizer.encode(text)).serialized())
                } catch {
                    failures += 1
                    let message = (error as? JSONLines.LineError)?.message ?? "\(error)"
                    printError("line \(lineNumber): \(message)")
                    print(JSONValue.object([("error", .string(message)), ("line", .number(Double(lineNumber)))]).serialized())
                }
            }
            if failures > 0 { throw ExitCode(1) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
    }

    static func json(_ encoding: Encoding) -> JSONValue {
        .object([
            ("ids", .array(encoding.ids.map { .number(Double($0)) })),
            ("tokens", .array(encoding.tokens.map { .string($0) })),
            ("offsets", .array(encoding.offsets.map { .array([.number(Double($0.start)), .number(Double($0.end))]) })),
        ])
    }
}
