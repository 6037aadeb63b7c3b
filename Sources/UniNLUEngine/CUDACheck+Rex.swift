import Foundation
import UniNLUCore
import UniNLUCPU
import UniNLUCUDA
import UniNLUModels
import UniNLUPipelines

// The RexUniNLU part of `uninlu check`: the DeBERTa ops (disentangled attention on both relative-
// position paths with 2-D masks that include fully masked rows, the conv layer, the rotary pair
// scores) against CPUKernels on fresh random inputs, then the 32 upstream Rex fixtures through the
// CUDA backend (same decoded output as upstream and as the CPU; Z differences and decision flips
// reported). Under FP16 the CPU reference gets the same FP16-rounded inputs as the GPU, so the
// tolerance measures the kernel, not the input rounding.

extension CUDACheck {
    /// ‖a − b‖²/‖b‖², max |a − b| and where it is, and the first index over `limit` (diagnostics).
    static func detailedCompare(_ candidate: [Float], _ reference: [Float], limit: Double) -> (nmse: Double, maxAbs: Double, worst: Int, firstBad: Int?, finite: Bool) {
        guard candidate.count == reference.count else { return (.infinity, .infinity, -1, 0, false) }
        var err = 0.0, norm = 0.0, maxAbs = 0.0, worst = -1, finite = true
        var firstBad: Int?
        for (i, (a, b)) in zip(candidate, reference).enumerated() {
            if !a.isFinite || !b.isFinite {
                finite = false
                if firstBad == nil { firstBad = i }
                continue
            }
            let d = abs(Double(a) - Double(b))
            err += d * d
            norm += Double(b) * Double(b)
            if d > maxAbs { maxAbs = d; worst = i }
            if firstBad == nil, d > limit * max(1, abs(Double(b))) { firstBad = i }
        }
        return (norm > 0 ? err / norm : err, maxAbs, worst, firstBad, finite)
    }

    /// `tensorCoreAttention`: false runs every Rex op with the FMA attention kernel; true runs only the
    /// FP16 head-64 attention cases on the tensor-core kernel. `uninlu check` runs the latter last, so a
    /// fault there (a sticky CUDA error poisons the context) cannot hide the other results.
    public static func runRexOps(seed: UInt64, precisions: [CUDAPrecision] = [.fp32, .fp16], tensorCoreAttention: Bool = false,
                                 log: (CUDACheckLine) -> Void) throws -> [CUDACheckLine] {
        var lines: [CUDACheckLine] = []
        let context = try CUDAContext()
        let cpu = CPUKernels()
        for precision in precisions {
            let gpu = try CUDAKernels(context: context, precision: precision)
            var rng = CheckRandom(seed: seed &+ 0x5EED)
            /// FP16: the values as the GPU stores them, so both sides start from the same inputs.
            func rounded(_ values: [Float]) throws -> [Float] {
                precision == .fp32 ? values : try gpu.download(gpu.upload(values, rows: 1, columns: values.count))
            }
            func record(_ name: String, _ vars: String, _ candidate: [Float], _ reference: [Float], gemm: Bool = false) {
                let tol = tolerance(precision, gemm: gemm)
                let r = detailedCompare(candidate, reference, limit: precision == .fp32 ? 1e-4 : 2e-2)
                let passed = r.finite && r.nmse <= tol
                var detail = String(format: "nmse %.3e (tol %.0e) max_abs %.3e", r.nmse, tol, r.maxAbs)
                if r.worst >= 0 { detail += String(format: " at [%d] (gpu %.6g cpu %.6g)", r.worst, candidate[r.worst], reference[r.worst]) }
                if let bad = r.firstBad, bad < candidate.count {
                    detail += String(format: "; first over the element limit: [%d] gpu %.6g cpu %.6g", bad, candidate[bad], reference[bad])
                }
                if !r.finite { detail += " NON-FINITE" }
                let line = CUDACheckLine(group: "rex-ops", name: name, vars: "\(precision.rawValue) \(vars)", passed: passed, detail: detail)
                log(line)
                lines.append(line)
            }
            func fail(_ name: String, _ vars: String, _ error: Error) {
                let line = CUDACheckLine(group: "rex-ops", name: name, vars: "\(precision.rawValue) \(vars)", passed: false, detail: "error: \(error)")
                log(line)
                lines.append(line)
            }

            // disentangledAttention: both relative-position paths, positions reaching the clamp edges,
            // random 2-D masks with fully masked rows, several packed sequences of different lengths.
            // `sequential`: Rex-like position ids (a prompt part whose blocks restart, then the text counting
            // up), so that the tensor-core kernel's relative-row windows stay narrow (its table path);
            // random ids make wide windows (its direct path).
            let attentionCases: [(lengths: [Int], heads: Int, headSize: Int, mode: RelativePositionMode, span: Int, positionRange: Int, sequential: Bool)] = [
                ([40, 17], 2, 16, .raw, 256, 60, true),                               // the fixture model's shape
                ([1, 7, 129], 2, 16, .logBuckets(buckets: 16, maxPosition: 64), 16, 300, false),
                ([5, 33, 16], 2, 32, .raw, 8, 40, false),                              // distances past the span: clamped
                ([128], 12, 64, .raw, 256, 512, false),
                ([128], 12, 64, .raw, 256, 512, true),
                ([1, 7, 129, 300], 4, 64, .logBuckets(buckets: 256, maxPosition: 512), 256, 512, true),
                ([Int](repeating: 64, count: 20) + [33], 12, 64, .raw, 256, 512, true),  // 4-warp blocks
                ([60, 3, 200], 4, 128, .logBuckets(buckets: 256, maxPosition: 512), 256, 1024, false),
                ([512], 12, 64, .logBuckets(buckets: 256, maxPosition: 512), 256, 512, false),
                ([Int](repeating: 100, count: 11) + [77], 12, 64, .raw, 256, 200, false),
                // Wide (4-warp blocks) with Rex-like ids: the staged kernels' table paths.
                ([Int](repeating: 128, count: 24), 12, 64, .raw, 256, 512, true),
                ([Int](repeating: 96, count: 16) + [300, 7], 12, 64, .logBuckets(buckets: 256, maxPosition: 512), 256, 512, true),
            ]
            if tensorCoreAttention && precision != .fp16 { continue }
            let tensorCore = tensorCoreAttention
            gpu.tensorCoreDisentangledAttention = tensorCore
            // Unstaged with one-warp blocks, unstaged with split-key 4-warp blocks (small batches), split-key
            // 8-warp blocks staging their own tiles and relative rows (small batches, the default there),
            // staged with relative rows from global memory, staged with relative rows staged too (wide only;
            // one tile ahead by default, or when each tile starts).
            let variants = [(false, false, false, true), (false, true, false, true), (false, true, true, true), (true, false, false, true),
                            (true, false, true, true), (true, false, true, false)]
            for (staged, split, relativeRowsStaged, pipelined) in tensorCore ? variants : [(false, false, false, true)] {
            gpu.stagedDisentangledAttention = staged
            gpu.stagedWideDisentangledAttention = staged
            gpu.splitDisentangledAttention = split
            gpu.relativeRowsStagedDisentangledAttention = relativeRowsStaged
            gpu.pipelinedDisentangledAttention = pipelined
            for c in attentionCases {
                if tensorCore && c.headSize != 64 { continue }
                let kernel = precision == .fp16 && c.headSize == 64 && tensorCore
                    ? (staged ? (relativeRowsStaged ? (pipelined ? "tc-staged-rel" : "tc-staged-rel-at-tile") : "tc-staged")
                        : split ? (relativeRowsStaged ? "tc-split-staged" : "mma-split") : "mma") : "fma"
                let modeName: String
                switch c.mode {
                case .raw: modeName = "raw"
                case let .logBuckets(buckets, maxPosition): modeName = "log(\(buckets),\(maxPosition))"
                }
                let items = c.lengths.reduce(0) { $0 + ($1 + 15) / 16 }
                let tcItems = c.lengths.reduce(0) { $0 + ($1 + 63) / 64 }
                let wide = kernel == "fma" ? items * c.heads >= 2 * context.info.multiprocessorCount : tcItems * c.heads >= gpu.disentangledWideItems
                // The staged-relative-rows kernel runs only for 4-warp blocks; narrow cases take tc-staged.
                if kernel.hasPrefix("tc-staged-rel") && !wide { continue }
                // The staged split-key kernel runs only for small batches; wide cases take mma (run above).
                if kernel == "tc-split-staged" && wide { continue }
                let blocks = wide ? "4-warp" : kernel == "mma-split" ? "4-warp split keys" : kernel == "tc-split-staged" ? "8-warp split keys" : "1-warp"
                let vars = "lengths=\(c.lengths) heads=\(c.heads) head_size=\(c.headSize) relative=\(modeName) span=\(c.span) positions=\(c.sequential ? "rex-like" : "random") kernel=\(kernel) blocks=\(blocks)"
                do {
                    let total = c.lengths.reduce(0, +)
                    let hidden = c.heads * c.headSize
                    let qkv = try rounded(rng.floats(total * 3 * hidden, -2, 2))
                    let relativeRows = 2 * c.span
                    let rel = try rounded(rng.floats(relativeRows * 3 * hidden, -2, 2))
                    var positions: [Int32] = []
                    var mask: [UInt8] = []
                    for (s, n) in c.lengths.enumerated() {
                        // Rex-like ids: ascending with resets, plus a few far ones (clamp edges).
                        var p: [Int32] = (0..<n).map { i in
                            c.sequential ? Int32(i < n / 3 ? i % 11 : i) : Int32(rng.int(c.positionRange))
                        }
                        if n > 2, !c.sequential { p[0] = 0; p[n - 1] = Int32(c.positionRange - 1) }
                        positions += p
                        let fullyMaskedRow = n > 3 ? rng.int(n) : -1
                        for i in 0..<n {
                            for _ in 0..<n {
                                let keep = i != fullyMaskedRow && !(s == 1 && n < 8 && i == 0) && rng.int(10) >= 3
                                mask.append(keep ? 1 : 0)
                            }
                        }
                    }
                    let sequences = PackedSequences(lengths: c.lengths)
                    let layout = try DisentangledAttentionLayout(
                        sequences: sequences, mask: mask, positions: positions, relativeRows: relativeRows
                    ) { c.mode.row(query: $0, key: 0, span: c.span) }
                    let ref = try cpu.download(cpu.disentangledAttention(
                        qkv: CPUMatrix(rows: total, columns: 3 * hidden, values: qkv),
                        positionProjections: CPUMatrix(rows: relativeRows, columns: 3 * hidden, values: rel),
                        layout: layout, heads: c.heads, headSize: c.headSize))
                    let out = try gpu.download(gpu.disentangledAttention(
                        qkv: gpu.upload(qkv, rows: total, columns: 3 * hidden),
                        positionProjections: gpu.upload(rel, rows: relativeRows, columns: 3 * hidden),
                        layout: layout, heads: c.heads, headSize: c.headSize))
                    record("disentangledAttention", vars, out, ref)
                    // Fully masked rows must be exact zeros (XSoftmax).
                    var zeroRowsOK = true
                    for (s, n) in c.lengths.enumerated() {
                        let start = sequences.offsets[s], base = layout.matrixOffsets[s]
                        for i in 0..<n where !(0..<n).contains(where: { mask[base + i * n + $0] != 0 }) {
                            if out[((start + i) * hidden)..<((start + i + 1) * hidden)].contains(where: { $0 != 0 }) { zeroRowsOK = false }
                        }
                    }
                    if !zeroRowsOK {
                        let line = CUDACheckLine(group: "rex-ops", name: "disentangledAttention", vars: "\(precision.rawValue) \(vars)", passed: false,
                                                 detail: "a fully masked query row is not all zeros")
                        log(line)
                        lines.append(line)
                    }
                } catch { fail("disentangledAttention", vars, error) }
            }
            }
            gpu.stagedDisentangledAttention = false
            gpu.stagedWideDisentangledAttention = true
            gpu.splitDisentangledAttention = true
            gpu.relativeRowsStagedDisentangledAttention = true
            if tensorCoreAttention { continue }
            // The same layout object across calls reuses the staged layout; a new one restages it.
            do {
                let lengths = [9, 4]
                let hidden = 32
                let qkv = try rounded(rng.floats(13 * 3 * hidden, -2, 2)), rel = try rounded(rng.floats(16 * 3 * hidden, -2, 2))
                func layout(_ keep: Int) throws -> DisentangledAttentionLayout {
                    let pairs = 81 + 16
                    return try DisentangledAttentionLayout(
                        sequences: PackedSequences(lengths: lengths), mask: (0..<pairs).map { $0 % keep == 0 ? 0 : 1 },
                        positions: (0..<13).map { Int32(($0 * 5) % 9) }, distanceRows: (0..<17).map { Int32(($0 * 7) % 16) }, relativeRows: 16)
                }
                for keep in [3, 4, 3] {
                    let l = try layout(keep)
                    let ref = try cpu.download(cpu.disentangledAttention(
                        qkv: CPUMatrix(rows: 13, columns: 3 * hidden, values: qkv), positionProjections: CPUMatrix(rows: 16, columns: 3 * hidden, values: rel),
                        layout: l, heads: 2, headSize: 16))
                    let out = try gpu.download(gpu.disentangledAttention(
                        qkv: gpu.upload(qkv, rows: 13, columns: 3 * hidden), positionProjections: gpu.upload(rel, rows: 16, columns: 3 * hidden),
                        layout: l, heads: 2, headSize: 16))
                    record("disentangledAttention", "layout cache: mask pattern \(keep)", out, ref)
                }
            } catch { fail("disentangledAttention", "layout cache", error) }

            // convolution (+activation +residual) per packed sequence, zero padding at each boundary
            let convolutionCases: [(lengths: [Int], width: Int, kernelSize: Int, activation: LinearActivation)] = [
                ([1, 7, 129], 32, 3, .gelu), ([128], 768, 3, .gelu), ([5, 3, 2], 100, 5, .none), ([16, 1], 48, 1, .gelu),
                ([Int](repeating: 64, count: 8), 768, 3, .gelu),
            ]
            for c in convolutionCases {
                let vars = "lengths=\(c.lengths) width=\(c.width) kernel=\(c.kernelSize) act=\(c.activation == .gelu ? "gelu" : "none")"
                do {
                    let total = c.lengths.reduce(0, +)
                    let x = try rounded(rng.floats(total * c.width))
                    let residual = try rounded(rng.floats(total * c.width))
                    let scale = 1.7 / Float(c.width * c.kernelSize).squareRoot()
                    let weight = rng.floats(c.width * c.width * c.kernelSize).map { $0 * scale }
                    let bias = rng.floats(c.width, -0.5, 0.5)
                    let sequences = PackedSequences(lengths: c.lengths)
                    let ref = try cpu.download(cpu.convolution(
                        CPUMatrix(rows: total, columns: c.width, values: x),
                        cpu.makeConvolution(weight: weight, bias: bias, outChannels: c.width, inChannels: c.width, kernelSize: c.kernelSize),
                        sequences: sequences, activation: c.activation, residual: CPUMatrix(rows: total, columns: c.width, values: residual)))
                    let out = try gpu.download(gpu.convolution(
                        gpu.upload(x, rows: total, columns: c.width),
                        gpu.makeConvolution(weight: weight, bias: bias, outChannels: c.width, inChannels: c.width, kernelSize: c.kernelSize),
                        sequences: sequences, activation: c.activation, residual: gpu.upload(residual, rows: total, columns: c.width)))
                    record("convolution", vars, out, ref, gemm: true)
                } catch { fail("convolution", vars, error) }
            }

            // rotaryPairScores: every pair rotated, and fewer frequencies than pairs (tail left as is)
            let rotaryCases: [(lengths: [Int], width: Int, pairs: Int)] = [
                ([1, 7, 129], 32, 16), ([128], 768, 384), ([5, 33, 16], 64, 20), ([512], 768, 384),
                ([Int](repeating: 40, count: 20) + [3], 768, 384), ([65, 3, 64], 30, 15), ([200, 1], 96, 48),
            ]
            for c in rotaryCases {
                let vars = "lengths=\(c.lengths) width=\(c.width) frequencies=\(c.pairs)"
                do {
                    let total = c.lengths.reduce(0, +)
                    let qk = try rounded(rng.floats(total * 2 * c.width))
                    let positions = (0..<total).map { _ in Int32(rng.int(512)) }
                    let frequencies = (0..<c.pairs).map { m in Float(pow(10_000.0, -2.0 * Double(m) / Double(c.width))) }
                    let sequences = PackedSequences(lengths: c.lengths)
                    let ref = try cpu.rotaryPairScores(CPUMatrix(rows: total, columns: 2 * c.width, values: qk), positions: positions,
                                                       frequencies: frequencies, sequences: sequences)
                    let out = try gpu.rotaryPairScores(gpu.upload(qk, rows: total, columns: 2 * c.width), positions: positions,
                                                       frequencies: frequencies, sequences: sequences)
                    let expectedCount = c.lengths.reduce(0) { $0 + $1 * $1 }
                    if out.count != ref.count || out.count != expectedCount {
                        fail("rotaryPairScores", vars, CUDAError.shapeMismatch(
                            op: "rotaryPairScores", detail: "\(out.count) packed values, the CPU \(ref.count), expected \(expectedCount)"))
                        continue
                    }
                    // Z is computed in FP32 from the (FP16-stored) q|k on both sides: FP32 tolerance.
                    let r = detailedCompare(out, ref, limit: 1e-3)
                    let passed = r.finite && r.nmse <= 1e-6
                    var detail = String(format: "nmse %.3e (tol 1e-06) max_abs %.3e", r.nmse, r.maxAbs)
                    if let bad = r.firstBad { detail += " first over 1e-3 relative: flat index \(bad)" }
                    let line = CUDACheckLine(group: "rex-ops", name: "rotaryPairScores", vars: "\(precision.rawValue) \(vars)", passed: passed, detail: detail)
                    log(line)
                    lines.append(line)
                } catch { fail("rotaryPairScores", vars, error) }
            }
        }
        return lines
    }

    /// The upstream Rex fixtures through the CPU and the CUDA backend at `precision`: decoded output
    /// equal to upstream's and to the CPU's; Z differences to the CPU and flipped decisions (sign of Z)
    /// reported.
    public static func runRexFixtures(fixtureDirectory: URL, precision: ComputePrecision, log: (CUDACheckLine) -> Void) async throws -> [CUDACheckLine] {
        let data = try Data(contentsOf: fixtureDirectory.appendingPathComponent("cases.json"))
        let root = try JSONParser.parse(bytes: Array(data), maxDepth: 256)
        let cases = root["cases"]?.arrayValue ?? []
        let modelURL = fixtureDirectory.appendingPathComponent("model")
        let cpuModel = try LoadedModel.load(modelDirectory: modelURL, backend: .cpu)
        let gpuModel = try LoadedModel.load(modelDirectory: modelURL, backend: .cuda, precision: precision)
        guard let cpuPipeline = cpuModel.rexUniNLU, let gpuPipeline = gpuModel.rexUniNLU else {
            throw EngineError.familyNotImplemented(cpuModel.family)
        }
        var limits = cpuPipeline.limits
        limits.maxLabelLength = 1000  // rex_long_label_skipped has a 384-character label
        let cpuCapture = CapturingRexForward(cpuPipeline.forward), gpuCapture = CapturingRexForward(gpuPipeline.forward)
        let cpuRun = RexUniNLUPipeline(tokenizer: cpuPipeline.tokenizer, forward: cpuCapture, limits: limits)
        let gpuRun = RexUniNLUPipeline(tokenizer: gpuPipeline.tokenizer, forward: gpuCapture, limits: limits)
        var lines: [CUDACheckLine] = []
        for fixture in cases {
            let id = fixture["id"]?.stringValue ?? "?"
            do {
                let text = fixture["text"]?.stringValue ?? ""
                let schema = try Schema(json: fixture["schema"] ?? .null)
                var options = RexUniNLUOptions()
                if id == "rex_long_label_skipped" { options.overlongLabels = .skip }
                cpuCapture.reset(); gpuCapture.reset()
                let cpuResult = try await cpuRun.predict(text: text, schema: schema, options: options)
                let gpuResult = try await gpuRun.predict(text: text, schema: schema, options: options)
                let cpuZ = cpuCapture.values, gpuZ = gpuCapture.values
                let z = compare(gpuZ, cpuZ)
                var flips = 0, smallest = Double.infinity
                var firstFlip: Int?
                if gpuZ.count == cpuZ.count {
                    for (index, (a, b)) in zip(gpuZ, cpuZ).enumerated() where (a > 0) != (b > 0) {
                        flips += 1
                        smallest = min(smallest, abs(Double(b)))
                        if firstFlip == nil { firstFlip = index }
                    }
                }
                /// "forward f Z[i,j]" of a flat index into the captured Z values.
                func locate(_ flat: Int) -> String {
                    var rest = flat
                    for (f, n) in cpuCapture.jobLengths.flatMap({ $0 }).enumerated() {
                        if rest < n * n { return "forward \(f) (n=\(n)) Z[\(rest / n),\(rest % n)]" }
                        rest -= n * n
                    }
                    return "index \(flat)"
                }
                var problems: [String] = []
                if let expected = fixture["output"], gpuResult.json != expected {
                    problems.append("output differs from upstream:\n    cuda:     \(gpuResult.json.serialized())\n    upstream: \(expected.serialized())")
                }
                if gpuResult.json != cpuResult.json { problems.append("output differs from the CPU backend:\n    cpu:      \(cpuResult.json.serialized())") }
                if !z.finite { problems.append("non-finite or mismatched Z (\(gpuZ.count) vs \(cpuZ.count) values)") }
                var detail = String(format: "Z vs cpu: max_abs %.3e nmse %.3e over %d values in %d forwards; sign flips %d",
                                    z.maxAbs, z.nmse, cpuZ.count, cpuCapture.forwardCount, flips)
                if flips > 0 { detail += String(format: " (smallest flipped |Z_cpu| %.2e)", smallest) }
                if let flip = firstFlip {
                    detail += String(format: "; first flip at %@: cpu %.4e gpu %.4e", locate(flip), cpuZ[flip], gpuZ[flip])
                }
                let line = CUDACheckLine(
                    group: "rex-fixtures", name: id, vars: precision.rawValue, passed: problems.isEmpty,
                    detail: detail + (problems.isEmpty ? "" : "\n    " + problems.joined(separator: "\n    ")))
                log(line)
                lines.append(line)
            } catch {
                let line = CUDACheckLine(group: "rex-fixtures", name: id, vars: precision.rawValue, passed: false, detail: "error: \(error)")
                log(line)
                lines.append(line)
            }
        }
        return lines
    }
}

/// Records every Z an engine returns (in call order), for backend-to-backend comparison.
final class CapturingRexForward: RexUniNLUForward, @unchecked Sendable {
    // @unchecked: `captured` and `forwards` are guarded by `lock`.
    private let inner: any RexUniNLUForward
    private let lock = NSLock()
    private var captured: [Float] = []
    private var forwards = 0
    private var lengths: [[Int]] = []

    init(_ inner: any RexUniNLUForward) { self.inner = inner }

    func reset() { lock.withLock { captured = []; forwards = 0; lengths = [] } }

    var values: [Float] { lock.withLock { captured } }
    var forwardCount: Int { lock.withLock { forwards } }
    /// Per engine call, the token count of each job.
    var jobLengths: [[Int]] { lock.withLock { lengths } }

    func tokenPairLogits(_ jobs: [RexForwardJob]) async throws -> [RexTokenPairLogits] {
        let result = try await inner.tokenPairLogits(jobs)
        lock.withLock {
            captured += result.flatMap(\.values)
            forwards += result.count
            lengths.append(jobs.map(\.count))
        }
        return result
    }
}

extension CUDACheck {
    /// A Rex plan round trip: build from the Rex fixture model, load, and the same decoded output as the
    /// CPU on every fixture case; the plan keeps `rotary_emb.freqs` in FP32.
    public static func runRexPlans(fixtureDirectory: URL, precision: ComputePrecision, log: (CUDACheckLine) -> Void) async throws -> [CUDACheckLine] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("uninlu-check-rex-plans-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let planURL = dir.appendingPathComponent("rex-\(precision.rawValue).plan")
        let modelURL = fixtureDirectory.appendingPathComponent("model")
        let started = Date()
        try EnginePlan.build(modelDirectory: modelURL, precision: precision, output: planURL, log: { _ in })
        let buildSeconds = Date().timeIntervalSince(started)
        let planModel = try LoadedModel.load(modelDirectory: planURL)
        let cpuModel = try LoadedModel.load(modelDirectory: modelURL, backend: .cpu)
        guard let planPipeline = planModel.rexUniNLU, let cpuPipeline = cpuModel.rexUniNLU else {
            throw EngineError.familyNotImplemented(planModel.family)
        }
        var limits = cpuPipeline.limits
        limits.maxLabelLength = 1000
        let planRun = RexUniNLUPipeline(tokenizer: planPipeline.tokenizer, forward: planPipeline.forward, limits: limits)
        let cpuRun = RexUniNLUPipeline(tokenizer: cpuPipeline.tokenizer, forward: cpuPipeline.forward, limits: limits)
        let data = try Data(contentsOf: fixtureDirectory.appendingPathComponent("cases.json"))
        let cases = try JSONParser.parse(bytes: Array(data), maxDepth: 256)["cases"]?.arrayValue ?? []
        var mismatches: [String] = []
        for fixture in cases {
            let id = fixture["id"]?.stringValue ?? "?"
            var options = RexUniNLUOptions()
            if id == "rex_long_label_skipped" { options.overlongLabels = .skip }
            let text = fixture["text"]?.stringValue ?? ""
            let schema = try Schema(json: fixture["schema"] ?? .null)
            let a = try? await planRun.predict(text: text, schema: schema, options: options)
            let b = try? await cpuRun.predict(text: text, schema: schema, options: options)
            if a?.json != b?.json { mismatches.append(id) }
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: planURL.path)[.size] as? Int) ?? 0
        let family = (try? EnginePlan(url: planURL).metadata["family"]) ?? "?"
        let line = CUDACheckLine(
            group: "plans", name: "rex round-trip", vars: precision.rawValue, passed: mismatches.isEmpty && family == "rex-uninlu",
            detail: String(format: "build %.2f s, %d bytes, family %@; %d cases, mismatches vs cpu: %@",
                           buildSeconds, size, family, cases.count, mismatches.isEmpty ? "none" : mismatches.joined(separator: ", ")))
        log(line)
        return [line]
    }
}
