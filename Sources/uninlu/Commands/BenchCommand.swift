import ArgumentParser
import Foundation
import UniNLUCPU
import UniNLUCheckpoint
import UniNLUCore
import UniNLUModels
import UniNLUEngine

// `uninlu bench`: times the full encoder forward (embeddings + every layer) of a SiameseUIE/BERT
// model directory on the CPU backend, on random ids (B sequences of S tokens, positions 0..<S,
// token type 0, no padding). Warm-up runs first, then the median of N. scripts/bench_cpu.py runs
// it next to a NumPy forward of the same weights; --dump-output lets that script check that both
// compute the same thing.

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the CPU encoder forward (embeddings + all layers) on random ids; JSON with --json.")

    @Option(help: "Model directory (config.json and model.safetensors or pytorch_model.bin), SiameseUIE layout. Default: $UNINLU_MODEL, else the bundled model.")
    var model: String?

    @Option(help: "Sequences per forward.")
    var batch = 1

    @Option(help: "Tokens per sequence (at most max_position_embeddings).")
    var seq = 128

    @Option(help: "Timed forwards.")
    var iterations = 10

    @Option(help: "Untimed forwards before timing.")
    var warmup = 2

    @Option(help: "Seed of the random token ids.")
    var seed: UInt64 = 0

    @Flag(help: "Print one JSON object (times in ms) instead of a summary line.")
    var json = false

    @Option(help: "Also write the ids and the encoder output of one (untimed) forward to this JSON file.")
    var dumpOutput: String?

    // CUDA (BenchCommand+CUDA.swift): --backend cuda times every --shapes entry (CUDA events, eager
    // dispatch and CUDA-graph replay) and, with --text, one end-to-end request; JSON to --output.
    @Option(help: "Backend: cpu (this benchmark's default) or cuda.")
    var backend: Backend = .cpu
    @Option(help: "CUDA precision: fp16 or fp32.")
    var precision: ComputePrecision = .fp16
    @Option(help: "CUDA: comma-separated batch×sequence shapes (default: --batch x --seq).")
    var shapes: String?
    @Option(help: "CUDA: text of an end-to-end request to time as well.")
    var text: String?
    @Option(help: "CUDA: comma-separated labels of the end-to-end request.")
    var labels = "出发地,目的地,时间,人物"
    @Option(help: "CUDA: write the JSON result to this file (default: stdout).")
    var output: String?
    @Option(name: .customLong("text-variants"), help: ArgumentHelp(
        "CUDA: also time the end-to-end request cycling through this many texts of different lengths.",
        discussion: "The text extended by 0, 1, … of its own characters; timed with CUDA graphs and length buckets, with graphs keyed on exact lengths, and op by op."))
    var textVariants = 1
    @Option(name: .customLong("cuda-graph-bucket"), help: "CUDA: the length bucket of the end-to-end request's graphs (1: exact lengths; the varied-length runs set their own).")
    var cudaGraphBucket = 8
    @Option(name: .customLong("fp16-recheck-margin"), help: "CUDA FP16, SiameseUIE: time the end-to-end request a second time with this re-check margin.")
    var fp16RecheckMargin: Float?

    func validate() throws {
        if batch <= 0 { throw ValidationError("--batch must be positive") }
        if seq <= 0 { throw ValidationError("--seq must be positive") }
        if iterations <= 0 { throw ValidationError("--iterations must be positive") }
        if warmup < 0 { throw ValidationError("--warmup must not be negative") }
        if !(1...512).contains(textVariants) { throw ValidationError("--text-variants must be between 1 and 512") }
        if !(1...512).contains(cudaGraphBucket) { throw ValidationError("--cuda-graph-bucket must be between 1 and 512") }
    }

    func run() async throws {
        if backend != .cpu { return try await runCUDA() }
        let directory = try DefaultModel.resolve(model)
        let configURL = directory.appendingPathComponent("config.json")
        let configuration: BertConfiguration
        do {
            configuration = try JSONDecoder().decode(BertConfiguration.self, from: Data(contentsOf: configURL))
        } catch {
            throw ValidationError("cannot read \(configURL.path) as a BERT config.json: \(error)")
        }
        guard seq <= configuration.maxPositions else {
            throw ValidationError("--seq \(seq) exceeds max_position_embeddings \(configuration.maxPositions)")
        }

        let clock = ContinuousClock()
        let loadStart = clock.now
        let store = TensorStore(try Checkpoint.open(modelDirectory: directory))
        let siamese = try SiameseUIEModel<CPUKernels>(configuration: configuration, kernels: CPUKernels(), store: store)
        let loadSeconds = (clock.now - loadStart).seconds

        var generator = SplitMix64(seed: seed)
        let vocabulary = UInt64(configuration.vocabularySize)
        let ids = (0..<batch).map { _ in (0..<seq).map { _ in Int32(generator.next() % vocabulary) } }
        let flatIDs = ids.flatMap { $0 }
        let positions = (0..<batch).flatMap { _ in (0..<seq).map { Int32($0) } }
        let tokenTypes = [Int32](repeating: 0, count: flatIDs.count)
        let sequences = PackedSequences(lengths: Array(repeating: seq, count: batch))
        let encoder = siamese.encoder
        func forward() throws -> CPUMatrix {
            try encoder.run(
                encoder.embed(ids: flatIDs, positions: positions, tokenTypes: tokenTypes),
                layers: 0..<encoder.layerCount, sequences: sequences)
        }

        if let dumpOutput {
            try writeDump(forward(), ids: ids, to: URL(fileURLWithPath: dumpOutput))
        }
        for _ in 0..<warmup { _ = try forward() }
        var times: [Double] = [], cpuTimes: [Double] = []
        for _ in 0..<iterations {
            let start = clock.now, cpuStart = processCPUSeconds()
            _ = try forward()
            times.append((clock.now - start).seconds * 1e3)
            cpuTimes.append((processCPUSeconds() - cpuStart) * 1e3)
        }

        let sorted = times.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        let p90 = sorted[min(sorted.count - 1, Int((0.9 * Double(sorted.count)).rounded(.up)) - 1)]
        let mean = times.reduce(0, +) / Double(times.count)
        let tokensPerSecond = Double(batch * seq) / median * 1e3
        if json {
            let report: [String: Any] = [
                "batch": batch, "seq": seq, "layers": encoder.layerCount, "iterations": iterations, "warmup": warmup,
                "median_ms": median, "mean_ms": mean, "p90_ms": p90, "min_ms": sorted[0],
                "tokens_per_s": tokensPerSecond, "times_ms": times, "cpu_times_ms": cpuTimes,
                "threads": CPUParallel.threadCount, "gemm": Gemm.implementation.rawValue,
                "cpu": HostCPU.current.modelName, "load_s": loadSeconds,
            ]
            let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(
                format: "%dx%d, %d layers: median %.2f ms, mean %.2f ms, p90 %.2f ms, %.0f tokens/s (%d threads, gemm %@; load %.1f s)",
                batch, seq, encoder.layerCount, median, mean, p90, tokensPerSecond, CPUParallel.threadCount,
                Gemm.implementation.rawValue, loadSeconds))
        }
    }

    /// {"ids": [[…]], "rows", "columns", "output_f32le_base64"}: the output as little-endian FP32.
    private func writeDump(_ output: CPUMatrix, ids: [[Int32]], to url: URL) throws {
        let values = output.values
        var bytes = Data(capacity: values.count * 4)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        let document: [String: Any] = [
            "ids": ids.map { $0.map(Int.init) }, "rows": output.rows, "columns": output.columns,
            "output_f32le_base64": bytes.base64EncodedString(),
        ]
        try JSONSerialization.data(withJSONObject: document).write(to: url)
    }
}

/// CPU time of the whole process (all threads), in seconds: on a machine shared with other work,
/// the wall time of a forward includes time spent descheduled; its CPU time does not.
private func processCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

extension Duration {
    fileprivate var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) * 1e-18
    }
}
