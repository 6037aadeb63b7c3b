import UniNLUCore
import UniNLUText

// The SiameseUIE pipeline, step for step as upstream `SiameseUiePipeline`: tokenize once, window,
// encode the text's lower layers once, then walk the schema depth first. Each level asks the
// engine for the pointer logits of all its hints in one call.

public struct SiameseUIEPipeline: Sendable {
    public let tokenizer: BertTokenizer
    public let forward: any SiameseUIEForward
    public var limits: InputLimits

    public init(tokenizer: BertTokenizer, forward: any SiameseUIEForward, limits: InputLimits = InputLimits()) {
        self.tokenizer = tokenizer
        self.forward = forward
        self.limits = limits
    }

    public func predict(text: String, schema: Schema, options: SiameseUIEOptions = SiameseUIEOptions()) async throws -> ExtractionResult {
        try limits.checkText(text)
        try schema.validate(against: limits)
        // Upstream raises IndexError on an empty schema; we answer with no paths (documented).
        if schema.isEmpty { return ExtractionResult(paths: []) }

        let encoding = tokenizer.encode(text)
        let (windows, shifts) = TextWindows.split(ids: encoding.ids, length: options.windowLength, stride: options.windowStride)
        let cache = try await forward.encodeText(windows: windows)
        var run = Run(
            pipeline: self, options: options, scalars: Array(text.unicodeScalars), encoding: encoding,
            shifts: shifts, cache: cache)
        try await run.solve(prefix: [], schema: schema)
        return ExtractionResult(paths: run.paths)
    }

    /// State of one prediction: the recursion over schema levels.
    private struct Run {
        let pipeline: SiameseUIEPipeline
        let options: SiameseUIEOptions
        let scalars: [Unicode.Scalar]
        let encoding: Encoding
        let shifts: [Int]
        let cache: any SiameseTextCache
        var paths: [[ExtractedSpan]] = []

        mutating func solve(prefix: [ExtractedSpan], schema: Schema) async throws {
            guard !schema.isEmpty else { return }  // upstream would crash on `{}` here too
            let next = try await prefixInfos(prefix: prefix, schema: schema)
            for path in next {
                guard let last = path.last else { continue }
                if let children = schema.children(of: last.type) {
                    if options.outputAllPrefix { paths.append(path) }
                    try await solve(prefix: path, schema: children)
                } else {
                    paths.append(path)
                }
            }
        }

        /// One schema level: every label's hint, its spans, in label order then offset order.
        func prefixInfos(prefix: [ExtractedSpan], schema: Schema) async throws -> [[ExtractedSpan]] {
            let labels = schema.labels
            let hintPrefix = prefix.map { "\($0.type): \($0.span), " }.joined()
            let hints = labels.map { hintPrefix + "\($0): " }
            let hintIDs = pipeline.tokenizer.encodeBatch(hints, maxLength: options.hintMaxLength, padToLongest: false).map(\.ids)
            let logits = try await pipeline.forward.pointerLogits(text: cache, hints: hintIDs)
            var result: [[ExtractedSpan]] = []
            let tokenCount = encoding.ids.count
            for (h, label) in labels.enumerated() {
                let head = PointerDecoder.merge(windows: logits[h].map(\.head), shifts: shifts, tokenCount: tokenCount)
                let tail = PointerDecoder.merge(windows: logits[h].map(\.tail), shifts: shifts, tokenCount: tokenCount)
                for span in PointerDecoder.decode(head: head, tail: tail, offsets: encoding.offsets, threshold: options.threshold) {
                    let text = String(String.UnicodeScalarView(scalars[span.start..<max(span.start, span.end)]))
                    result.append(prefix + [ExtractedSpan(type: label, span: text, offset: [span.start, span.end])])
                }
            }
            return result
        }
    }
}
