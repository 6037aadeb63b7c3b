import UniNLUCore
import UniNLUText

// The RexUniNLU pipeline, step for step as upstream `RexModelTrainer.prediction_step` + `prompt_loop`:
// breadth-first over schema levels; each level's paths and labels are packed into prompts of at most
// 256 tokens; each prompt is paired with the text in windows of 512 tokens (stride 32 for extraction,
// 0 for classification); every window is one model input with its own position ids and 2-D mask; Z is
// decoded into spans (extraction) or marker links (classification, when the text contains
// [CLASSIFY] / [MULTICLASSIFY]). Extraction windows of a level run as one batch of forward jobs.

/// A prediction and what the pipeline had to leave out to produce it (as upstream does, silently).
public struct RexPrediction: Sendable, Equatable {
    public var result: ExtractionResult
    public var warnings: [String]
}

public struct RexUniNLUPipeline: Sendable {
    public let tokenizer: BertTokenizer
    public let forward: any RexUniNLUForward
    public var limits: InputLimits

    public static let classifyMarker = "[CLASSIFY]"
    public static let multiClassifyMarker = "[MULTICLASSIFY]"

    public init(tokenizer: BertTokenizer, forward: any RexUniNLUForward, limits: InputLimits = InputLimits()) {
        self.tokenizer = tokenizer
        self.forward = forward
        self.limits = limits
    }

    public func predict(text: String, schema: Schema, options: RexUniNLUOptions = RexUniNLUOptions()) async throws -> ExtractionResult {
        try await predictWithWarnings(text: text, schema: schema, options: options).result
    }

    public func predictWithWarnings(text: String, schema: Schema, options: RexUniNLUOptions = RexUniNLUOptions()) async throws -> RexPrediction {
        try limits.checkText(text)
        try schema.validate(against: limits)
        // Upstream: an empty schema gives {"output": []} without a forward.
        if schema.isEmpty { return RexPrediction(result: ExtractionResult(paths: []), warnings: []) }
        let markers = try Markers(tokenizer: tokenizer)
        try checkLabels(schema, options: options)
        let single = contains(text, Self.classifyMarker)
        let multi = contains(text, Self.multiClassifyMarker)
        if single && multi { throw RexInputError.bothClassificationMarkers }

        var run = Run(pipeline: self, options: options, markers: markers, legalPaths: Self.legalPaths(schema))
        if single || multi {
            // Upstream's blank fallback assumes the marker is the first text token (it then answers []).
            let first = tokenizer.encode(text, addSpecialTokens: false).ids.first
            if first != (single ? markers.classify : markers.multiClassify) && !options.fixBlankFallbackMarker {
                run.warnings.append("the \(single ? Self.classifyMarker : Self.multiClassifyMarker) marker is not at the start of the text: if no label passes the thresholds, upstream's fallback answers [] (put the marker first, or use --fix-blank-fallback-marker / RexUniNLUOptions.fixBlankFallbackMarker)")
            }
        }
        var root = RexLevel()
        root.insert([], schema: schema)
        var paths = try await run.promptLoop(text: text, root: root, blank: false)
        if paths.isEmpty && (single || multi) {
            paths = try await run.promptLoop(text: text, root: root, blank: true)
        }
        if !paths.isEmpty && (single || multi) {
            let means = paths.map { path in path.reduce(0.0) { $0 + ($1.confidence ?? 0) } / Double(path.count) }
            let best = means.indices.max { means[$0] < means[$1] || (means[$0] == means[$1] && $0 > $1) } ?? 0
            if single {
                paths = [paths[best]]
            } else {
                let kept = means.indices.filter { means[$0] > 0.9 }
                paths = (kept.isEmpty ? [best] : kept).map { paths[$0] }
            }
        }
        let result = ExtractionResult(paths: paths.map { $0.map { $0.extracted(includeScores: options.includeScores) } })
        return RexPrediction(result: result, warnings: run.warnings)
    }

    /// Every root-to-leaf label path (a label with no children, or `{}`, is a leaf).
    static func legalPaths(_ schema: Schema) -> Set<[String]> {
        var paths = Set<[String]>()
        func walk(_ schema: Schema, _ prefix: [String]) {
            for entry in schema.entries {
                if let children = entry.children, !children.isEmpty {
                    walk(children, prefix + [entry.label])
                } else {
                    paths.insert(prefix + [entry.label])
                }
            }
        }
        walk(schema, [])
        return paths
    }

    private func checkLabels(_ schema: Schema, options: RexUniNLUOptions) throws {
        let forbidden = ["[PREFIX]", "[TYPE]", "[CLS]", "[SEP]"]
        for entry in schema.entries {
            if let marker = forbidden.first(where: { contains(entry.label, $0) }) {
                throw RexInputError.markerInLabel(label: entry.label, marker: marker)
            }
            if options.overlongLabels == .reject {
                let tokens = tokenizer.encode(entry.label).count - 1
                if tokens > options.labelMaxTokens {
                    throw RexInputError.labelTooLong(label: entry.label, tokens: tokens, limit: options.labelMaxTokens)
                }
            }
            if let children = entry.children { try checkLabels(children, options: options) }
        }
    }

    /// The token ids the prompt structure relies on.
    struct Markers {
        let cls, sep, prefix, type, classify, multiClassify: Int32
        init(tokenizer: BertTokenizer) throws {
            guard let prefix = tokenizer.id(of: "[PREFIX]"), let type = tokenizer.id(of: "[TYPE]"),
                  let classify = tokenizer.id(of: RexUniNLUPipeline.classifyMarker),
                  let multi = tokenizer.id(of: RexUniNLUPipeline.multiClassifyMarker)
            else {
                throw RexPipelineError.internalInconsistency("the tokenizer lacks the Rex prompt markers (load it with [PREFIX] [TYPE] [CLASSIFY] [MULTICLASSIFY])")
            }
            cls = tokenizer.clsID
            sep = tokenizer.sepID
            self.prefix = prefix
            self.type = type
            self.classify = classify
            multiClassify = multi
        }
    }

    /// State of one prediction: the level loop and what it had to leave out.
    struct Run {
        let pipeline: RexUniNLUPipeline
        let options: RexUniNLUOptions
        let markers: Markers
        let legalPaths: Set<[String]>
        var warnings: [String] = []

        var positionBuilder: RexPositionBuilder {
            RexPositionBuilder(
                clsID: markers.cls, sepID: markers.sep, prefixID: markers.prefix, typeID: markers.type,
                markersInTextAreText: options.fixMarkersInText)
        }

        /// Upstream `prompt_loop` from the root level to the last, breadth first. `text` is a value that
        /// upstream's classification bookkeeping rewrites as it goes (kept unless the fix is on).
        mutating func promptLoop(text original: String, root: RexLevel, blank: Bool) async throws -> [[RexPathItem]] {
            var text = original
            var level = root
            var paths: [[RexPathItem]] = []
            while !level.isEmpty {
                var packed: [String] = []
                let prompts = RexPromptPacker(tokenizer: pipeline.tokenizer, options: options).pack(level, warnings: &packed)
                for warning in packed where !warnings.contains(warning) { warnings.append(warning) }
                var next = RexLevel()
                if contains(text, RexUniNLUPipeline.classifyMarker) {
                    paths += try await classify(prompts, level: level, text: &text, marker: RexUniNLUPipeline.classifyMarker, markerID: markers.classify, multi: false, blank: blank, next: &next)
                } else if contains(text, RexUniNLUPipeline.multiClassifyMarker) {
                    paths += try await classify(prompts, level: level, text: &text, marker: RexUniNLUPipeline.multiClassifyMarker, markerID: markers.multiClassify, multi: true, blank: blank, next: &next)
                } else {
                    paths += try await extract(prompts, level: level, text: text, next: &next)
                }
                level = next
            }
            return paths
        }

        /// Windows of one prompt over the text, as model inputs.
        func windows(_ prompt: RexPrompt, text: String, stride: Int) throws -> [Encoding] {
            try pipeline.tokenizer.encodePairWindows(first: prompt.text, second: text, maxLength: options.maxLength, stride: stride)
        }

        func job(_ ids: [Int32]) throws -> RexForwardJob {
            let (positions, mask) = try positionBuilder.build(ids: ids)
            return RexForwardJob(ids: ids, positions: positions, mask: mask)
        }

        static func hintTokenCount(_ encoding: Encoding) -> Int { encoding.typeIds.reduce(0) { $0 + ($1 == 0 ? 1 : 0) } }

        mutating func extract(_ prompts: [RexPrompt], level: RexLevel, text: String, next: inout RexLevel) async throws -> [[RexPathItem]] {
            let scalars = Array(text.unicodeScalars)
            var windows: [(prompt: Int, window: RexWindow)] = []
            var jobs: [RexForwardJob] = []
            for (p, prompt) in prompts.enumerated() {
                for encoding in try self.windows(prompt, text: text, stride: options.stride) {
                    windows.append((p, RexWindow(ids: encoding.ids, offsets: encoding.offsets, hintTokenCount: Self.hintTokenCount(encoding), text: scalars)))
                    jobs.append(try job(encoding.ids))
                }
            }
            let logits = try await pipeline.forward.tokenPairLogits(jobs)
            guard logits.count == jobs.count else { throw RexPipelineError.internalInconsistency("\(logits.count) results for \(jobs.count) jobs") }
            var paths: [[RexPathItem]] = []
            for ((p, window), z) in zip(windows, logits) {
                let decoder = RexExtractionDecoder(prompt: prompts[p], level: level, legalPaths: legalPaths, includeScores: options.includeScores)
                var found = RexLevel()
                paths += try decoder.decode(window, z, next: &found)
                next.merge(found)
            }
            return paths
        }

        mutating func classify(
            _ prompts: [RexPrompt], level: RexLevel, text: inout String, marker: String, markerID: Int32, multi: Bool, blank: Bool,
            next: inout RexLevel
        ) async throws -> [[RexPathItem]] {
            var paths: [[RexPathItem]] = []
            var best: [(key: String, confidences: [Double])] = []
            let markerLength = marker.unicodeScalars.count
            for prompt in prompts {
                let encodings = try windows(prompt, text: text, stride: options.classificationStride)
                var decoded: [RexWindow] = []
                var jobs: [RexForwardJob] = []
                var scalars = Array(text.unicodeScalars)
                for (j, encoding) in encodings.enumerated() {
                    var window = RexWindow(ids: encoding.ids, offsets: encoding.offsets, hintTokenCount: Self.hintTokenCount(encoding), text: scalars)
                    if j > 0 {
                        // Upstream puts the marker in front of every later window's chunk, dropping the chunk's
                        // last token, and shifts the offsets into a text it rewrites cumulatively.
                        let n = window.ids.count
                        guard let sep = window.ids.firstIndex(of: markers.sep), sep + 1 < n - 1 else {
                            throw RexPipelineError.internalInconsistency("classification window \(j) has no text")
                        }
                        let textStart = sep + 1
                        let charStart = window.offsets[textStart].start
                        window.ids = Array(window.ids[..<textStart]) + [markerID] + Array(window.ids[textStart..<(n - 2)]) + [window.ids[n - 1]]
                        if options.fixClassificationWindows {
                            window.offsets = Array(window.offsets[..<textStart]) + [TokenOffset(start: charStart, end: charStart)]
                                + Array(window.offsets[textStart..<(n - 2)]) + [window.offsets[n - 1]]
                        } else {
                            let shift = j * markerLength
                            scalars.insert(contentsOf: marker.unicodeScalars, at: min(charStart, scalars.count))
                            window.text = scalars
                            window.offsets = Array(window.offsets[..<textStart])
                                + [TokenOffset(start: charStart + (j - 1) * markerLength, end: charStart + shift)]
                                + window.offsets[textStart..<(n - 2)].map { TokenOffset(start: $0.start + shift, end: $0.end + shift) }
                                + [window.offsets[n - 1]]
                        }
                    }
                    decoded.append(window)
                    jobs.append(try job(window.ids))
                }
                if !options.fixClassificationWindows {
                    var view = String.UnicodeScalarView()
                    view.append(contentsOf: scalars)
                    text = String(view)
                }
                let logits = try await pipeline.forward.tokenPairLogits(jobs)
                guard logits.count == jobs.count else { throw RexPipelineError.internalInconsistency("\(logits.count) results for \(jobs.count) jobs") }
                let decoder = RexClassificationDecoder(
                    prompt: prompt, level: level, legalPaths: legalPaths, marker: marker, markerID: markerID, typeID: markers.type,
                    markerByID: options.fixClassificationWindows, fixBlankMarker: options.fixBlankFallbackMarker)
                var candidates = RexClassificationCandidates()
                for (window, z) in zip(decoded, logits) {
                    var found = RexLevel()
                    try decoder.decode(window, z, blank: blank, next: &found, candidates: &candidates)
                    next.merge(found)
                }
                if multi {
                    // Every label found, with the confidences of its first occurrence.
                    for key in candidates.keys {
                        guard let first = candidates.entries[key]?.first else { continue }
                        paths.append(Self.classificationPath(key: key, confidences: first.map { $0.confidence ?? 0 }, marker: marker))
                    }
                } else if candidates.keys.count == 1, let key = candidates.keys.first, let first = candidates.entries[key]?.first {
                    best.append((key, first.map { $0.confidence ?? 0 }))
                } else if candidates.keys.count > 1 {
                    // Per label, the column-wise mean over its occurrences; the largest sum wins (stable).
                    let averaged: [(key: String, confidences: [Double])] = candidates.keys.map { key in
                        let rows = candidates.entries[key] ?? []
                        let width = rows.map(\.count).min() ?? 0
                        let means = (0..<width).map { c in rows.reduce(0.0) { $0 + ($1[c].confidence ?? 0) } / Double(rows.count) }
                        return (key, means)
                    }
                    if let top = Self.stableMax(averaged) { best.append(top) }
                }
            }
            if !multi, let top = Self.stableMax(best) {
                paths.append(Self.classificationPath(key: top.key, confidences: top.confidences, marker: marker))
            }
            return paths
        }

        /// Python `sorted(items, key=sum, reverse=True)[0]`: the first of the largest sums.
        static func stableMax(_ items: [(key: String, confidences: [Double])]) -> (key: String, confidences: [Double])? {
            var best: (key: String, confidences: [Double])?
            var bestSum = -Double.infinity
            for item in items {
                let sum = item.confidences.reduce(0.0, +)
                if best == nil || sum > bestSum { best = item; bestSum = sum }
            }
            return best
        }

        /// Upstream's classification output entry: labels from the key, span = the marker, offset [0, len(marker)].
        static func classificationPath(key: String, confidences: [Double], marker: String) -> [RexPathItem] {
            let labels = key.components(separatedBy: "[INFOKEY]")
            let length = marker.unicodeScalars.count
            return labels.enumerated().map { i, label in
                RexPathItem(type: label, span: marker, start: 0, end: length, confidence: i < confidences.count ? confidences[i] : nil)
            }
        }
    }
}

/// Python's `needle in haystack` on code points (Swift's String.contains compares grapheme clusters).
func contains(_ haystack: String, _ needle: String) -> Bool {
    let h = Array(haystack.unicodeScalars), n = Array(needle.unicodeScalars)
    guard !n.isEmpty, h.count >= n.count else { return n.isEmpty }
    for start in 0...(h.count - n.count) where h[start] == n[0] {
        if h[start..<(start + n.count)].elementsEqual(n) { return true }
    }
    return false
}
