import Foundation
import UniNLUCheckpoint
import UniNLUCore
import UniNLUCUDA
import UniNLUModels

// `uninlu bench --backend cuda` on a RexUniNLU model directory: the DeBERTa-v2 encoder forward
// (embeddings, 12 layers of disentangled attention, the conv after layer 0; plain position ids
// 0..<seq and an all-ones 2-D mask per sequence, as transformers' DebertaV2Model sees a batch) at
// each batch×sequence shape, eager (host work included: relative indices, layout staging, op
// dispatch) and as a CUDA graph replay; plus the Rex head (ffnq|ffnk, RoPE, Z to the host) on the
// same shape, eager. scripts/gpu/bench_deberta.py writes the random base-size model and runs PyTorch.

extension CUDABenchmark {
    public static func rexEncoder(modelDirectory: URL, precision: ComputePrecision, shapes: [Shape], warmup: Int, iterations: Int,
                                  log: (String) -> Void) throws -> JSONValue {
        let directory = try ModelDirectory(url: modelDirectory)
        let configuration = try directory.decodeConfig(DebertaV2Configuration.self)
        let loadStart = Date()
        let context = try CUDAContext()
        let kernels = try CUDAKernels(context: context, precision: precision.cuda())
        let memoryBefore = try context.memoryInfo()
        let reader = try Checkpoint.open(modelDirectory: modelDirectory)
        try kernels.reserveWeights(for: reader, ignoring: [])
        let model = try RexUniNLUModel(configuration: configuration, kernels: kernels, store: TensorStore(reader))
        try kernels.synchronize()
        let memoryAfter = try context.memoryInfo()
        let loadSeconds = Date().timeIntervalSince(loadStart)
        log("loaded \(configuration.layerCount)-layer DeBERTa-v2 (Rex, \(precision.rawValue)) in \(String(format: "%.2f", loadSeconds)) s; kernels compiled in \(String(format: "%.2f", kernels.compileSeconds)) s; weights use \((memoryBefore.free - memoryAfter.free) >> 20) MiB")
        var rows: [JSONValue] = []
        var rng = CheckRandom(seed: 7)
        for shape in shapes {
            let tokens = shape.batch * shape.sequence
            let ids = (0..<tokens).map { _ in Int32(rng.int(configuration.vocabularySize)) }
            let positions = (0..<tokens).map { Int32($0 % shape.sequence) }
            let masks = [UInt8](repeating: 1, count: shape.batch * shape.sequence * shape.sequence)
            let sequences = PackedSequences(lengths: [Int](repeating: shape.sequence, count: shape.batch))
            func forward() throws -> CUDAMatrix {
                try model.encoder.encode(ids: ids, positions: positions, sequences: sequences, masks: masks)
            }
            let start = try context.makeEvent(), end = try context.makeEvent()
            var samples: [Double] = [], hostSamples: [Double] = []
            do {
                for _ in 0..<warmup { _ = try forward() }
                try kernels.synchronize()
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
            } catch {
                log("rex encoder \(shape) failed: \(error)")
                rows.append(.object([("shape", .string(shape.description)), ("error", .string("\(error)"))]))
                continue
            }
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
                log(String(format: "rex encoder %@ %@: CUDA graph replay median %.3f ms (max |graph - eager| = %.2e)",
                           shape.description, precision.rawValue, median(graphSamples), diff))
                withExtendedLifetime(graph) {}
            } catch {
                log("rex encoder \(shape) graph capture failed: \(error)")
                graphFields = [("graph_error", .string("\(error)"))]
            }
            // The whole Rex model call (encoder + ffnq|ffnk + RoPE pair scores + Z to the host), eager.
            var headFields: [(String, JSONValue)] = []
            do {
                var jobs: [RexForwardJob] = []
                for b in 0..<shape.batch {
                    let range = (b * shape.sequence)..<((b + 1) * shape.sequence)
                    jobs.append(RexForwardJob(ids: Array(ids[range]), positions: Array(positions[range]),
                                              mask: [UInt8](repeating: 1, count: shape.sequence * shape.sequence)))
                }
                for _ in 0..<max(2, warmup / 2) { _ = try model.tokenPairLogits(jobs) }
                var modelSamples: [Double] = []
                for _ in 0..<max(5, iterations / 2) {
                    let t = Date()
                    _ = try model.tokenPairLogits(jobs)
                    modelSamples.append(Date().timeIntervalSince(t) * 1000)
                }
                headFields = [("model_call_median_ms", .number(median(modelSamples)))]
                log(String(format: "rex model call (encoder + RoPE head + Z to host) %@ %@: median %.3f ms", shape.description, precision.rawValue, median(modelSamples)))
            } catch {
                headFields = [("model_call_error", .string("\(error)"))]
            }
            let med = median(samples)
            log(String(format: "rex encoder %@ %@: median %.3f ms (host %.3f ms), stddev %.3f, %.0f tokens/s",
                       shape.description, precision.rawValue, med, median(hostSamples), stddev(samples), Double(tokens) / med * 1000))
            let normFields = tuningFields(kernels, rows: tokens, hidden: configuration.hiddenSize,
                                                intermediate: configuration.intermediateSize, shape: "rex " + shape.description, log: log)
            rows.append(.object([
                ("shape", .string(shape.description)), ("batch", .number(Double(shape.batch))), ("sequence", .number(Double(shape.sequence))),
                ("median_ms", .number(med)), ("host_median_ms", .number(median(hostSamples))), ("stddev_ms", .number(stddev(samples))),
                ("min_ms", .number(samples.min() ?? .nan)), ("samples", .number(Double(samples.count))),
                ("tokens_per_s", .number(Double(tokens) / med * 1000)),
            ] + graphFields + headFields + normFields))
        }
        return .object([
            ("model", .string("rex-uninlu (deberta-v2)")), ("precision", .string(precision.rawValue)), ("device", .string(context.info.name)),
            ("layers", .number(Double(configuration.layerCount))), ("hidden", .number(Double(configuration.hiddenSize))),
            ("load_seconds", .number(loadSeconds)), ("compile_seconds", .number(kernels.compileSeconds)),
            ("weight_bytes", .number(Double(memoryBefore.free - memoryAfter.free))),
            ("activation_pool_bytes", .number(Double(kernels.reservedActivationBytes))),
            ("shapes", .array(rows)),
        ])
    }
}
