import ArgumentParser
import Foundation
import UniNLUCore
import UniNLUEngine
import UniNLUPipelines

struct PredictCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Extract spans for a text and a schema; prints upstream JSON ({\"output\": [...]}).",
        discussion: """
            One text:   uninlu predict --model DIR --text "帮我定一张明天去上海的机票" --labels 出发地,目的地,时间
                        uninlu predict --model DIR --text "…" --schema '{"组织机构": {"创始人(人物)": null}}'
            Many texts: uninlu predict --model DIR --input cases.jsonl   (one {"text", "schema"} per line, "-" = stdin;
                        one {"output"} per line out, same order; a bad line prints {"error", "line"} and the exit code is 1)
            """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "The text to analyse.") var text: String?
    @Option(help: "Comma-separated labels (a flat schema); surrounding spaces are trimmed.") var labels: String?
    @Option(help: "Schema as JSON: an object (nested), a list of labels, or a JSON string of either.") var schema: String?
    @Option(help: "JSON Lines input file, one {\"text\", \"schema\"} per line (schema may also be \"labels\"); - for stdin.")
    var input: String?
    @Flag(help: "Also output the non-leaf paths of nested schemas (upstream output_all_prefix).")
    var outputAllPrefix = false
    @OptionGroup var limitOptions: LimitOptions
    @OptionGroup(title: "RexUniNLU options (docs/rex-uninlu.md)") var rexFlags: RexFlags

    func validate() throws {
        if input != nil {
            if text != nil || labels != nil || schema != nil {
                throw ValidationError("--input cannot be combined with --text, --labels or --schema")
            }
        } else {
            guard text != nil else { throw ValidationError("give --text (with --labels or --schema) or --input FILE.jsonl") }
            if (labels == nil) == (schema == nil) { throw ValidationError("give exactly one of --labels and --schema") }
        }
    }

    func run() async throws {
        do {
            let limits = limitOptions.limits
            let schemaArgument = try parsedSchemaArgument()
            let model = try modelOptions.load(limits: limits)
            if let input {
                var failures = 0
                try await JSONLines.forEachLine(path: input) { lineNumber, parsed in
                    do {
                        let (text, schema) = try requestFields(try parsed.get())
                        let result = try await predict(model, text: text, schema: schema, line: lineNumber)
                        print(result.json.serialized())
                    } catch {
                        failures += 1
                        let message = (error as? JSONLines.LineError)?.message ?? "\(error)"
                        printError("line \(lineNumber): \(message)")
                        print(JSONValue.object([("error", .string(message)), ("line", .number(Double(lineNumber)))]).serialized())
                    }
                }
                if failures > 0 { throw ExitCode(1) }
            } else if let text, let schemaArgument {
                let result = try await predict(model, text: text, schema: schemaArgument)
                print(result.json.serialized())
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
    }

    /// Predicts and writes the pipeline's warnings to stderr, one "warning: " line each (naming the
    /// `--input` line), so that stdout stays exactly the upstream JSON.
    private func predict(_ model: LoadedModel, text: String, schema: Schema, line: Int? = nil) async throws -> ExtractionResult {
        let prediction = try await model.predictWithWarnings(
            text: text, schema: schema, outputAllPrefix: outputAllPrefix, rexOptions: rexFlags.options)
        for warning in prediction.warnings { printError("warning: \(line.map { "line \($0): " } ?? "")\(warning)") }
        return prediction.result
    }

    private func parsedSchemaArgument() throws -> Schema? {
        if let labels {
            let list = labels.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            if list.contains(where: \.isEmpty) { throw CLIError("--labels has an empty label: \"\(labels)\"") }
            return Schema(labels: list)
        }
        if let schema { return try Schema.parse(json: schema) }
        return nil
    }

    private func requestFields(_ value: JSONValue) throws -> (String, Schema) {
        guard case .object = value else { throw CLIError("each line must be a JSON object, found \(value.kindName)") }
        guard let textValue = value["text"] else { throw CLIError("missing \"text\"") }
        guard let text = textValue.stringValue else { throw CLIError("\"text\" must be a string, found \(textValue.kindName)") }
        if let schema = value["schema"] { return (text, try Schema(json: schema)) }
        if let labels = value["labels"] { return (text, try Schema(json: labels)) }
        throw CLIError("missing \"schema\" (or \"labels\")")
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Rex-only switches: upstream's behaviour is the default; each flag turns on a documented fix or extra.
struct RexFlags: ParsableArguments {
    @Flag(help: "Add a \"score\" to extracted spans and keep classification \"confidence\" (upstream returns neither).")
    var includeScores = false
    @Flag(help: "Let every window of a long [CLASSIFY] text count (upstream ignores windows from the third on).")
    var fixClassificationWindows = false
    @Flag(help: "Blank fallback scores the marker token when it is not first (upstream returns []).")
    var fixBlankFallbackMarker = false
    @Flag(help: "Treat literal [TYPE]/[PREFIX] in the text as text when building positions and masks.")
    var fixMarkersInText = false
    @Flag(help: "Skip labels over 125 tokens as upstream does, instead of refusing the request.")
    var skipOverlongLabels = false

    var options: RexUniNLUOptions {
        var options = RexUniNLUOptions()
        options.includeScores = includeScores
        options.fixClassificationWindows = fixClassificationWindows
        options.fixBlankFallbackMarker = fixBlankFallbackMarker
        options.fixMarkersInText = fixMarkersInText
        if skipOverlongLabels { options.overlongLabels = .skip }
        return options
    }
}
