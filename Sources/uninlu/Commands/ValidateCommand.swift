import ArgumentParser
import Foundation
import UniNLUCore
import UniNLUEngine
import UniNLUPipelines

// `uninlu validate`: runs a model over labelled JSON Lines (ValidationData.swift) and scores it
// (ValidationScore.swift): per type and overall TP/FP/FN, precision, recall, F1. With --against it
// runs the same records through a second backend/precision of the same model and counts the
// decisions on which the two disagree (e.g. cuda:fp16 against cpu:fp32).

struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Score a model on labelled JSON Lines: per-type and overall precision, recall, F1; compare two backends.",
        discussion: """
            uninlu validate --data dev.jsonl [--model DIR] [--per-type] [--output report.json]
            uninlu validate --data dev.jsonl --backend cuda --precision fp16 --against cpu:fp32
            Each line: {"text": "…", "schema": {…} (or "labels": […]), "output": [[{"type", "span", "offset": [s, e]}, …], …]},
            "output" being the gold answer in the pipeline's output shape. A predicted path matches a gold path when their
            (type, offset) sequences are equal; a path's type is that of its last element. Scores are micro-averaged.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Labelled JSON Lines file (- for stdin).") var data: String
    @Option(help: "fp32 or fp16. Default: fp16 on the CUDA backend, fp32 on the CPU (which computes in fp32 only).")
    var precision: ComputePrecision?
    @Option(help: "Also run a second configuration of the same model, BACKEND:PRECISION (e.g. cpu:fp32), and count the flips.")
    var against: String?
    @Option(help: "Use only the first N valid records.") var limit: Int?
    @Option(help: "Write a JSON report to this file.") var output: String?
    @Flag(help: "Print a row per type, not only the overall scores.") var perType = false
    @Flag(help: "No progress lines on stderr.") var quiet = false
    @Flag(help: "Count and skip malformed records (and records the model refuses) instead of stopping at the first.")
    var skipInvalid = false
    @Flag(help: "Predict with output_all_prefix (the gold must then include the non-leaf paths).") var outputAllPrefix = false
    @OptionGroup var limitOptions: LimitOptions
    @OptionGroup(title: "RexUniNLU options (docs/rex-uninlu.md)") var rexFlags: RexFlags

    /// A backend and a precision, as `--against` spells them.
    struct Setting: CustomStringConvertible {
        var backend: Backend
        var precision: ComputePrecision
        var recheckMargin: Float? = nil
        var description: String {
            "\(backend.rawValue):\(precision.rawValue)" + (recheckMargin.map { "+fp32-recheck(\($0))" } ?? "")
        }
    }

    func validate() throws {
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
        if let against { _ = try Self.parseAgainst(against) }
    }

    static func parseAgainst(_ text: String) throws -> (Backend, ComputePrecision?) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), let backend = Backend(rawValue: parts[0]) else {
            throw ValidationError("--against takes BACKEND:PRECISION, e.g. cpu:fp32 or cuda:fp16 (backend auto, cpu or cuda), found \"\(text)\"")
        }
        guard parts.count == 2 else { return (backend, nil) }
        guard let precision = ComputePrecision(rawValue: parts[1]) else {
            throw ValidationError("--against \(text): the precision must be fp32 or fp16")
        }
        return (backend, precision)
    }

    func run() async throws {
        do {
            let url = try modelOptions.modelURL()
            let dataset = try await ValidationData.read(path: data, skipInvalid: skipInvalid, limit: limit)
            let primary = try loadRun(url: url, backend: modelOptions.backend, precision: precision, isPrimary: true)
            var second: Run? = nil
            if let against {
                let (backend, precision) = try Self.parseAgainst(against)
                second = try loadRun(url: url, backend: backend, precision: precision, isPrimary: false)
            }
            var evaluation = Evaluation(primary: primary, against: second, skipped: dataset.skipped)
            var progress = Progress(total: dataset.records.count, quiet: quiet)
            for record in dataset.records {
                do {
                    let a = try await evaluation.primary.predict(record, options: self)
                    let b = try await evaluation.against?.predict(record, options: self)
                    evaluation.add(record: record, primary: a, against: b)
                } catch {
                    guard skipInvalid else { throw CLIError("\(data) line \(record.line): the model refused the record: \(error) (--skip-invalid skips such lines)") }
                    evaluation.skipped.append((record.line, "\(error)"))
                }
                progress.step()
            }
            progress.finish()
            print(evaluation.table(perType: perType, model: url.path, data: data), terminator: "")
            if let output {
                let report = evaluation.report(model: url.path, family: primary.model.family.rawValue, data: data)
                try Data((report.serialized() + "\n").utf8).write(to: URL(fileURLWithPath: output))
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
    }

    private func loadRun(url: URL, backend: Backend, precision: ComputePrecision?, isPrimary: Bool) throws -> Run {
        let clock = ContinuousClock(), start = clock.now
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            // An engine plan fixes the backend (CUDA) and the precision.
            guard isPrimary else { throw CLIError("--against needs a model directory: \(url.path) is an engine plan, which runs one configuration only") }
            let plan = try EnginePlan(url: url)
            let model = try LoadedModel.load(modelDirectory: url, limits: limitOptions.limits, fp16RecheckMargin: modelOptions.fp16RecheckMargin,
                                             graphPolicy: modelOptions.graphPolicy)
            return Run(model: model, setting: Setting(backend: .cuda, precision: plan.precision), loadSeconds: (clock.now - start).seconds)
        }
        let resolved = try backend.resolved()
        let precision = precision ?? (resolved == .cuda ? .fp16 : .fp32)
        if resolved == .cpu && precision != .fp32 {
            throw CLIError("the CPU backend computes in fp32 only; ask for cpu:fp32 (or --precision fp32), or the cuda backend for fp16")
        }
        // The FP16 re-check belongs to the configuration under test, not to the one it is compared with.
        let margin = isPrimary ? modelOptions.fp16RecheckMargin : nil
        let model = try LoadedModel.load(modelDirectory: url, backend: resolved, precision: precision, limits: limitOptions.limits,
                                         fp16RecheckMargin: margin, graphPolicy: modelOptions.graphPolicy)
        return Run(model: model, setting: Setting(backend: model.backend, precision: precision, recheckMargin: margin),
                   loadSeconds: (clock.now - start).seconds)
    }
}

/// One loaded configuration, its scores and its time.
struct Run {
    let model: LoadedModel
    let setting: ValidateCommand.Setting
    let loadSeconds: Double
    var score = ValidationScore()
    var predictSeconds = 0.0

    mutating func predict(_ record: ValidationRecord, options: ValidateCommand) async throws -> [PathKey] {
        let clock = ContinuousClock(), start = clock.now
        let result = try await model.predict(text: record.text, schema: record.schema, outputAllPrefix: options.outputAllPrefix,
                                             rexOptions: options.rexFlags.options)
        predictSeconds += (clock.now - start).seconds
        return result.paths.map(PathKey.init)
    }

    var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("backend", .string(setting.backend.rawValue)), ("precision", .string(setting.precision.rawValue)),
            ("overall", score.overall.json), ("per_type", score.perTypeJSON),
            ("timing", .object([
                ("load_seconds", .number(loadSeconds)), ("predict_seconds", .number(predictSeconds)),
            ])),
        ]
        if let counters = model.recheckCounters, let margin = setting.recheckMargin {
            fields.append(("fp16_recheck", counters.json(margin: margin)))
        }
        return .object(fields)
    }

    /// "re-checked R of H hints in FP32" for a run with the FP16 re-check.
    var recheckLine: String? {
        guard let counters = model.recheckCounters else { return nil }
        return "  fp16 re-check: \(counters.rechecked) of \(counters.hints) hint(s) re-run in FP32"
    }
}

struct Evaluation {
    var primary: Run
    var against: Run?
    var skipped: [(line: Int, reason: String)]
    var records = 0
    var flips = Flips()

    mutating func add(record: ValidationRecord, primary predictedA: [PathKey], against predictedB: [PathKey]?) {
        records += 1
        primary.score.add(gold: record.gold, predicted: predictedA)
        if let predictedB {
            against?.score.add(gold: record.gold, predicted: predictedB)
            flips.add(record: record, primary: predictedA, against: predictedB)
        }
    }

    func table(perType: Bool, model: String, data: String) -> String {
        var lines = ["model: \(model) (\(primary.model.family.rawValue))",
                     "data:  \(data): \(records) records scored" + (skipped.isEmpty ? "" : ", \(skipped.count) skipped")]
        for run in [primary] + (against.map { [$0] } ?? []) {
            let rate = run.predictSeconds > 0 ? Double(records) / run.predictSeconds : 0
            lines.append("")
            lines.append("\(run.setting): \(String(format: "%.1f", rate)) records/s (load \(String(format: "%.1f", run.loadSeconds)) s, predict \(String(format: "%.1f", run.predictSeconds)) s)")
            if let recheck = run.recheckLine { lines.append(recheck) }
            let widths = [7, 7, 7, 7, 7, 10, 8, 8]
            let nameWidth = min(42, max(17, (perType ? run.score.types.map(displayWidth).max() ?? 0 : 0) + 2))
            func row(_ name: String, _ cells: [String]) -> String {
                pad(truncated(name, nameWidth - 2), nameWidth) + zip(cells, widths).map { String(repeating: " ", count: max(0, $1 - $0.count)) + $0 }.joined()
            }
            func cells(_ c: Counts) -> [String] {
                [c.gold, c.predicted, c.tp, c.fp, c.fn].map(String.init) + [c.precision, c.recall, c.f1].map { String(format: "%.4f", $0) }
            }
            lines.append(row("type", ["gold", "pred", "TP", "FP", "FN", "precision", "recall", "F1"]))
            if perType {
                for type in run.score.types { lines.append(row(type, cells(run.score.perType[type]!))) }
            }
            lines.append(row("overall (micro)", cells(run.score.overall)))
        }
        if let against {
            lines.append("")
            lines.append("flips: \(flips.onlyPrimary) path(s) predicted only by \(primary.setting), \(flips.onlyAgainst) only by --against \(against.setting); \(flips.recordsDiffering) of \(records) records differ")
            for example in flips.examples.prefix(3) {
                lines.append("  line \(example.line): \(example.onlyPrimary.count) only by \(primary.setting), \(example.onlyAgainst.count) only by --against")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func report(model: String, family: String, data: String) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("model", .string(model)), ("family", .string(family)),
            ("backend", .string(primary.setting.backend.rawValue)), ("precision", .string(primary.setting.precision.rawValue)),
            ("data", .string(data)),
            ("counts", .object([
                ("records", .number(Double(records))), ("skipped", .number(Double(skipped.count))),
                ("gold_paths", .number(Double(primary.score.overall.gold))),
                ("predicted_paths", .number(Double(primary.score.overall.predicted))),
            ])),
            ("overall", primary.score.overall.json), ("per_type", primary.score.perTypeJSON),
            ("timing", .object([
                ("load_seconds", .number(primary.loadSeconds)), ("predict_seconds", .number(primary.predictSeconds)),
                ("records_per_second", .number(primary.predictSeconds > 0 ? Double(records) / primary.predictSeconds : 0)),
            ])),
        ]
        if !skipped.isEmpty {
            fields.append(("skipped", .array(skipped.prefix(Flips.maxExamples).map {
                .object([("line", .number(Double($0.line))), ("reason", .string($0.reason))])
            })))
        }
        if let against {
            fields.append(("against", against.json))
            fields.append(("flips", flips.json))
        }
        return .object(fields)
    }
}

/// Records done/total, rate and ETA on stderr, at most one line every 2 seconds.
struct Progress {
    let total: Int
    let quiet: Bool
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    private var lastReport: ContinuousClock.Instant
    private var done = 0
    private var reported = false

    init(total: Int, quiet: Bool) {
        self.total = total
        self.quiet = quiet
        start = clock.now
        lastReport = start
    }

    mutating func step() {
        done += 1
        guard !quiet, clock.now - lastReport >= .seconds(2) else { return }
        lastReport = clock.now
        reported = true
        let elapsed = (clock.now - start).seconds
        let rate = Double(done) / max(elapsed, 1e-9)
        let eta = Double(total - done) / max(rate, 1e-9)
        printError(String(format: "validate: %d/%d records, %.1f records/s, ETA %@", done, total, rate, formatSeconds(eta)))
    }

    /// A last line when progress was shown at all, so the count ends at the total.
    func finish() {
        guard !quiet, reported else { return }
        let elapsed = (clock.now - start).seconds
        printError(String(format: "validate: %d/%d records in %@", done, total, formatSeconds(elapsed)))
    }

    private func formatSeconds(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m" : s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}

/// Terminal columns of `text`: East Asian wide characters take two.
private func displayWidth(_ text: String) -> Int {
    text.unicodeScalars.reduce(0) { width, scalar in
        let v = scalar.value
        let wide = (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
            || (0xFFE0...0xFFE6).contains(v) || (0x20000...0x3FFFD).contains(v)
        return width + (wide ? 2 : 1)
    }
}

/// `text` cut to at most `width` columns, with an ellipsis when cut.
private func truncated(_ text: String, _ width: Int) -> String {
    guard displayWidth(text) > width else { return text }
    var out = "", used = 0
    for character in text {
        let w = displayWidth(String(character))
        if used + w > width - 1 { break }
        out.append(character)
        used += w
    }
    return out + "…"
}

private func pad(_ text: String, _ width: Int) -> String {
    text + String(repeating: " ", count: max(1, width - displayWidth(text)))
}

extension Duration {
    fileprivate var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) * 1e-18
    }
}
