import Foundation
import UniNLUCheckpoint
import UniNLUCore
import UniNLUCUDA
import UniNLUModels
import UniNLUPipelines

// `uninlu bench --backend cuda`: the BERT encoder forward (embeddings + all layers, packed, no
// padding) at given batch×sequence shapes, timed with CUDA events around each forward (host-side op
// dispatch included: this is the latency a caller sees), median of many after warm-up; and the
// end-to-end SiameseUIE latency of one request in process (host clock, tokenizer to decoded spans).
// The weights are the model directory's (scripts/gpu/bench_bert.py writes a random base-size one so
// that PyTorch runs the very same weights).

public enum CUDABenchmark {
    public struct Shape: Sendable, CustomStringConvertible {
        public var batch: Int
        public var sequence: Int
        public init(batch: Int, sequence: Int) { self.batch = batch; self.sequence = sequence }
        public var description: String { "\(batch)x\(sequence)" }
        public init?(_ text: String) {
            let parts = text.lowercased().split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, parts[0] > 0, parts[1] > 0 else { return nil }
            self.init(batch: parts[0], sequence: parts[1])
        }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
    }

    static func stddev(_ values: [Double]) -> Double {
        guard values.count > 1 else { return 0 }
        let mean = values.reduce(0, +) / Double(values.count)
        return (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
    }

    /// Encoder forward timings for each shape; returns a JSON object.
    public static func encoder(modelDirectory: URL, precision: ComputePrecision, shapes: [Shape], warmup: Int, iterations: Int,
                               log: (String) -> Void) throws -> JSONValue {
        let directory = try ModelDirectory(url: modelDirectory)
        let configuration = try directory.decodeConfig(BertConfiguration.self)
        let loadStart = Date()
        let context = try CUDAContext()
        let kernels = try CUDAKernels(context: context, precision: precision.cuda())
        let memoryBefore = try context.memoryInfo()
        let reader = try Checkpoint.open(modelDirectory: modelDirectory)
        try kernels.reserveWeights(for: reader, ignoring: SiameseUIEModel<CUDAKernels>.ignoredTensorNames + ["head_clsf.weight", "head_clsf.bias", "tail_clsf.weight", "tail_clsf.bias"])
        let store = TensorStore(reader)
        store.ignore(prefix: "head_clsf")
        store.ignore(prefix: "tail_clsf")
        store.ignore(SiameseUIEModel<CUDAKernels>.ignoredTensorNames)
        let upper = SiameseUIEModel<CUDAKernels>.upperLayerCount
        let encoder = try BertEncoder.load(
            configuration: configuration, kernels: kernels, store: store, root: "plm",
            layerPrefixes: [("plm.encoder.layer", configuration.layerCount - upper), ("crossattention.layer", upper)])
        try kernels.synchronize()
        let memoryAfter = try context.memoryInfo()
        let loadSeconds = Date().timeIntervalSince(loadStart)
        log("loaded \(configuration.layerCount)-layer encoder (\(precision.rawValue)) in \(String(format: "%.2f", loadSeconds)) s; kernels compiled in \(String(format: "%.2f", kernels.compileSeconds)) s; weights use \((memoryBefore.free - memoryAfter.free) >> 20) MiB")
        var rows: [JSONValue] = []
        var rng = CheckRandom(seed: 7)
        for shape in shapes {
            let tokens = shape.batch * shape.sequence
            let ids = (0..<tokens).map { _ in Int32(rng.int(configuration.vocabularySize)) }
            let positions = (0..<tokens).map { Int32($0 % shape.sequence) }
            let types = [Int32](repeating: 0, count: tokens)
            let sequences = PackedSequences(lengths: [Int](repeating: shape.sequence, count: shape.batch))
            func forward() throws -> CUDAMatrix {
                try encoder.run(encoder.embed(ids: ids, positions: positions, tokenTypes: types), layers: 0..<encoder.layerCount, sequences: sequences)
            }
            let start = try context.makeEvent(), end = try context.makeEvent()
            for _ in 0..<warmup { _ = try forward() }
            try kernels.synchronize()
            var samples: [Double] = []
            var hostSamples: [Double] = []
            for _ in 0..<iterations {
                let hostStart = Date()
                try start.record()
                let y = try forward()
                try end.record()
                try end.synchronize()
                hostSamples.append(Date().timeIntervalSince(hostStart) * 1000)
                samples.append(try end.milliseconds(since: start))
                withExtendedLifetime(y) {}
            }
            try kernels.synchronize()
            // The same forward as one CUDA graph (no per-op host dispatch), checked against eager.
            var graphFields: [(String, JSONValue)] = []
            do {
                let eager = try kernels.download(forward())
                let (graph, graphOutput) = try kernels.captureGraph { try forward() }
                try graph.launch()
                let replayed = try kernels.download(graphOutput)
                let diff = zip(eager, replayed).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
                for _ in 0..<warmup { try graph.launch() }
                var graphSamples: [Double] = []
                for _ in 0..<iterations {
                    try start.record()
                    try graph.launch()
                    try end.record()
                    try end.synchronize()
                    graphSamples.append(try end.milliseconds(since: start))
                }
                graphFields = [("graph_median_ms", .number(median(graphSamples))), ("graph_min_ms", .number(graphSamples.min() ?? .nan)),
                               ("graph_vs_eager_max_abs", .number(Double(diff)))]
                log(String(format: "encoder %@ %@: CUDA graph replay median %.3f ms (max |graph - eager| = %.2e)",
                           shape.description, precision.rawValue, median(graphSamples), diff))
                withExtendedLifetime(graph) {}
            } catch {
                log("encoder \(shape) graph capture failed: \(error)")
                graphFields = [("graph_error", .string("\(error)"))]
            }
            let med = median(samples)
            log(String(format: "encoder %@ %@: median %.3f ms (host %.3f ms), stddev %.3f, %.0f tokens/s",
                       shape.description, precision.rawValue, med, median(hostSamples), stddev(samples), Double(tokens) / med * 1000))
            let normFields = tuningFields(kernels, rows: tokens, hidden: configuration.hiddenSize,
                                                intermediate: configuration.intermediateSize, shape: shape.description, log: log)
            rows.append(.object([
                ("shape", .string(shape.description)), ("batch", .number(Double(shape.batch))), ("sequence", .number(Double(shape.sequence))),
                ("median_ms", .number(med)), ("host_median_ms", .number(median(hostSamples))), ("stddev_ms", .number(stddev(samples))),
                ("min_ms", .number(samples.min() ?? .nan)), ("samples", .number(Double(samples.count))),
                ("tokens_per_s", .number(Double(tokens) / med * 1000)),
            ] + graphFields + normFields))
        }
        return .object([
            ("precision", .string(precision.rawValue)), ("device", .string(context.info.name)),
            ("load_seconds", .number(loadSeconds)), ("compile_seconds", .number(kernels.compileSeconds)),
            ("weight_bytes", .number(Double(memoryBefore.free - memoryAfter.free))),
            ("activation_pool_bytes", .number(Double(kernels.reservedActivationBytes))),
            ("shapes", .array(rows)),
        ])
    }

    /// The timed split counts of the two `linearResidualNorm` shapes of a layer (0: unfused) and the
    /// GEMM autotune's timing of each cuBLASLt candidate per shape at these rows, logged and as JSON fields.
    static func tuningFields(_ kernels: CUDAKernels, rows: Int, hidden: Int, intermediate: Int, shape: String,
                                   log: (String) -> Void) -> [(String, JSONValue)] {
        let attention = kernels.residualNormChoice(rows: rows, out: hidden, in: hidden)
        let output = kernels.residualNormChoice(rows: rows, out: hidden, in: intermediate)
        func text(_ splits: Int?) -> String { splits.map { $0 == 0 ? "unfused" : "\($0) K slices" } ?? "unfused (not timed)" }
        log("encoder \(shape): linear + residual + LayerNorm: attention output \(text(attention)), FFN output \(text(output))")
        let normTimings = [("attention_output", kernels.residualNormTimings(rows: rows, out: hidden, in: hidden)),
                           ("ffn_output", kernels.residualNormTimings(rows: rows, out: hidden, in: intermediate))]
        func candidate(_ splits: Int) -> String { splits == 0 ? "unfused" : "\(splits)" }
        for (name, timings) in normTimings where !timings.isEmpty {
            log("encoder \(shape): linear + residual + LayerNorm timed, \(name) (µs a run): "
                + timings.map { String(format: "%@ %.2f", candidate($0.splits), $0.microseconds) }.joined(separator: ", "))
        }
        let choices = kernels.gemmTimings(rows: rows)
        for choice in choices {
            if let timedAt = choice.timedAtRows {
                log("encoder \(shape): GEMM \(choice.shape): the algorithm timed at \(timedAt) rows (same row class)")
            } else if !choice.timings.isEmpty {
                log("encoder \(shape): GEMM autotune \(choice.shape) (µs a run): "
                    + choice.timings.map { String(format: "%@ %.2f", $0.candidate, $0.microseconds) }.joined(separator: ", "))
            }
        }
        return [("residual_norm_splits", .object([("attention_output", .number(Double(attention ?? 0))), ("ffn_output", .number(Double(output ?? 0)))])),
                ("residual_norm_timed_us", .object(normTimings.map { name, timings in
                    (name, .object(timings.map { (candidate($0.splits), .number($0.microseconds)) }))
                })),
                ("gemm_autotune_us", .object(choices.map { choice in
                    (choice.shape, .object(choice.timings.map { ($0.candidate, .number($0.microseconds)) }))
                })),
                ("gemm_timed_at_rows", .object(choices.compactMap { choice in choice.timedAtRows.map { (choice.shape, .number(Double($0))) } }))]
    }

    /// `count` texts of different lengths from `text`: the text, then the text extended by 1, 2, …
    /// of its own characters (cyclically), as traffic whose lengths vary request by request.
    public static func textVariants(_ text: String, count: Int) -> [String] {
        let characters = Array(text)
        guard !characters.isEmpty else { return [text] }
        return (0..<max(1, count)).map { extra in text + String((0..<extra).map { characters[$0 % characters.count] }) }
    }

    /// End-to-end latency of one request (text + flat schema), model already loaded and warmed up.
    /// With `variants` > 1 the requests cycle through that many texts of different lengths
    /// (`textVariants`), so that CUDA graphs meet new shapes as varied traffic would.
    public static func endToEnd(modelDirectory: URL, backend: Backend, precision: ComputePrecision, text: String, labels: [String],
                                warmup: Int, iterations: Int, fp16RecheckMargin: Float? = nil, graphPolicy: CUDAGraphPolicy = CUDAGraphPolicy(),
                                variants: Int = 1, log: (String) -> Void) async throws -> JSONValue {
        let texts = textVariants(text, count: variants)
        var next = 0
        func nextText() -> String {
            defer { next += 1 }
            return texts[next % texts.count]
        }
        let loadStart = Date()
        let model = try LoadedModel.load(modelDirectory: modelDirectory, backend: backend, precision: precision,
                                         fp16RecheckMargin: fp16RecheckMargin, graphPolicy: graphPolicy)
        let schema = try Schema(json: .array(labels.map { .string($0) }))
        let first = try await model.predict(text: text, schema: schema)
        let firstResultSeconds = Date().timeIntervalSince(loadStart)
        for _ in 0..<warmup { _ = try await model.predict(text: nextText(), schema: schema) }
        var samples: [Double] = []
        for _ in 0..<iterations {
            let request = nextText()
            let start = Date()
            _ = try await model.predict(text: request, schema: schema)
            samples.append(Date().timeIntervalSince(start) * 1000)
        }
        let med = median(samples)
        let graphs = try await model.cudaGraphCounters()
        let varied = texts.count > 1
            ? " over \(texts.count) text lengths (" + (graphPolicy.maxGraphs > 0 ? "length bucket \(graphPolicy.lengthBucket)" : "no graphs") + ")" : ""
        log(String(format: "end-to-end %@ %@%@: median %.3f ms, load to first result %.2f s; CUDA graphs: %@", backend.rawValue, precision.rawValue,
                   varied, med, firstResultSeconds, graphs.map(CUDACheck.describe) ?? "none"))
        // Rex: the model calls one request makes (jobs and their lengths), so that the PyTorch side
        // (scripts/gpu/bench_deberta.py) can run the same forwards.
        var recheckFields: [(String, JSONValue)] = []
        if let counters = model.recheckCounters, let margin = fp16RecheckMargin {
            recheckFields = [("fp16_recheck", counters.json(margin: margin))]
        }
        var rexFields: [(String, JSONValue)] = []
        if let rex = model.rexUniNLU {
            let capture = CapturingRexForward(rex.forward)
            _ = try await RexUniNLUPipeline(tokenizer: rex.tokenizer, forward: capture, limits: rex.limits).predict(text: text, schema: schema)
            rexFields = [("rex_calls", .array(capture.jobLengths.map { .array($0.map { .number(Double($0)) }) }))]
        }
        let policyJSON: JSONValue = .object([
            ("max_graphs", .number(Double(graphPolicy.maxGraphs))), ("capture_after", .number(Double(graphPolicy.captureAfter))),
            ("max_tokens", .number(Double(graphPolicy.maxTokens))), ("length_bucket", .number(Double(graphPolicy.lengthBucket))),
        ])
        var graphFields: [(String, JSONValue)] = [("cuda_graph_policy", policyJSON)]
        if let graphs {
            graphFields.append(("cuda_graphs", .object([
                ("captures", .number(Double(graphs.captures))), ("replays", .number(Double(graphs.replays))),
                ("op_by_op_forwards", .number(Double(graphs.eagerRuns))), ("mismatches", .number(Double(graphs.mismatches))),
                ("graph_device_bytes", .number(Double(graphs.deviceBytes))),
            ])))
        }
        let base: [(String, JSONValue)] = [
            ("backend", .string(model.backend.rawValue)), ("precision", .string(precision.rawValue)),
            ("text", .string(text)), ("text_variants", .number(Double(texts.count))), ("labels", .array(labels.map { .string($0) })),
            ("median_ms", .number(med)), ("stddev_ms", .number(stddev(samples))), ("min_ms", .number(samples.min() ?? .nan)),
            ("samples", .number(Double(samples.count))), ("load_to_first_result_s", .number(firstResultSeconds)),
            ("output", first.json),
        ]
        return .object(base + graphFields + rexFields + recheckFields)
    }
}
