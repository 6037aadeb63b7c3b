import Foundation
import UniNLUCheckpoint
import UniNLUCore
import UniNLUCPU
import UniNLUCUDA
import UniNLUModels
import UniNLUPipelines

// The GPU check behind `uninlu check`: every CUDA op against the CPU reference on fresh random inputs
// (test-backend-ops style: NaN check, NMSE against a stated tolerance, max-abs printed, seed printed),
// then the SiameseUIE upstream fixtures through the CUDA backend, whose decoded output must equal
// upstream's (and the CPU's) exactly, with the largest logit difference to the CPU reported.

public struct CUDACheckLine: Sendable {
    public init(group: String, name: String, vars: String, passed: Bool, detail: String) {
        self.group = group; self.name = name; self.vars = vars; self.passed = passed; self.detail = detail
    }
    public var group: String
    public var name: String
    public var vars: String
    public var passed: Bool
    public var detail: String
}

/// Random numbers for the checks: SplitMix64, reproducible from the printed seed.
struct CheckRandom {
    var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }
    mutating func next() -> UInt64 { generator.next() }
    mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * Float(next() >> 40) / Float(1 << 24)
    }
    mutating func floats(_ count: Int, _ low: Float = -1, _ high: Float = 1) -> [Float] {
        (0..<count).map { _ in uniform(low, high) }
    }
    mutating func int(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// ‖a − b‖² / ‖b‖² and max |a − b|; NaN anywhere fails.
func compare(_ candidate: [Float], _ reference: [Float]) -> (nmse: Double, maxAbs: Double, finite: Bool) {
    guard candidate.count == reference.count else { return (.infinity, .infinity, false) }
    var err = 0.0, norm = 0.0, maxAbs = 0.0, finite = true
    for (a, b) in zip(candidate, reference) {
        if !a.isFinite || !b.isFinite { finite = false; continue }
        let d = Double(a) - Double(b)
        err += d * d
        norm += Double(b) * Double(b)
        maxAbs = max(maxAbs, abs(d))
    }
    return (norm > 0 ? err / norm : err, maxAbs, finite)
}

public enum CUDACheck {
    /// NMSE tolerances: FP32 kernels against the FP32 CPU reference; FP16 storage (inputs, weights
    /// and outputs rounded to FP16) for the element-wise/normalising ops and for GEMMs (ggml's
    /// mul_mat uses 5e-4).
    public static func tolerance(_ precision: CUDAPrecision, gemm: Bool) -> Double {
        precision == .fp32 ? 1e-6 : (gemm ? 5e-4 : 1e-4)
    }

    public static func runOps(seed: UInt64, precisions: [CUDAPrecision] = [.fp32, .fp16], log: (CUDACheckLine) -> Void) throws -> [CUDACheckLine] {
        var lines: [CUDACheckLine] = []
        let context = try CUDAContext()
        let cpu = CPUKernels()
        for precision in precisions {
            let gpu = try CUDAKernels(context: context, precision: precision)
            var rng = CheckRandom(seed: seed)
            func record(_ name: String, _ vars: String, _ candidate: [Float], _ reference: [Float], gemm: Bool = false, exact: Bool = false) {
                let r = compare(candidate, reference)
                let tol = exact && precision == .fp32 ? 0 : tolerance(precision, gemm: gemm)
                let passed = r.finite && r.nmse <= tol
                let line = CUDACheckLine(
                    group: "ops", name: name, vars: "\(precision.rawValue) \(vars)", passed: passed,
                    detail: String(format: "nmse %.3e (tol %.0e) max_abs %.3e%@", r.nmse, tol, r.maxAbs, r.finite ? "" : " NON-FINITE"))
                log(line)
                lines.append(line)
            }
            func fail(_ name: String, _ vars: String, _ error: Error) {
                let line = CUDACheckLine(group: "ops", name: name, vars: "\(precision.rawValue) \(vars)", passed: false, detail: "error: \(error)")
                log(line)
                lines.append(line)
            }

            // convert: upload + download round trip (FP16 rounding only)
            for count in [1, 7, 4099] {
                let values = rng.floats(count, -8, 8)
                do {
                    let down = try gpu.download(gpu.upload(values, rows: 1, columns: count))
                    record("convert", "n=\(count)", down, values)
                } catch { fail("convert", "n=\(count)", error) }
            }
            // embed: three tables + LayerNorm
            for (rows, width) in [(1, 768), (7, 100), (129, 32), (64, 768)] {
                let vars = "rows=\(rows) width=\(width)"
                do {
                    let sizes = [500, 512, 2]
                    let tables = sizes.map { rng.floats($0 * width) }
                    let ids = sizes.map { size in (0..<rows).map { _ in Int32(rng.int(size)) } }
                    let gamma = rng.floats(width, 0.5, 1.5), beta = rng.floats(width, -0.5, 0.5)
                    let ref = try cpu.download(cpu.embed(
                        tables: try zip(tables, sizes).map { try cpu.makeEmbeddingTable($0, rows: $1, width: width) }, ids: ids,
                        norm: try cpu.makeNorm(gamma: gamma, beta: beta, epsilon: 1e-12)))
                    let out = try gpu.download(gpu.embed(
                        tables: try zip(tables, sizes).map { try gpu.makeEmbeddingTable($0, rows: $1, width: width) }, ids: ids,
                        norm: try gpu.makeNorm(gamma: gamma, beta: beta, epsilon: 1e-12)))
                    record("embed", vars, out, ref)
                } catch { fail("embed", vars, error) }
            }
            // layerNorm with a large common offset (stresses the variance)
            // (widths of 256·C take the warp-per-row kernel; each case also runs the block-per-row one)
            for (rows, width, eps) in [(1, 768, Float(1e-12)), (7, 100, 1e-7), (129, 32, 1e-12), (300, 768, 1e-5),
                                       (5, 1024, 1e-12), (33, 512, 1e-12), (3, 256, 1e-12)] {
              for block in CUDAKernels.hasWarpLayerNorm(width: width) ? [false, true] : [true] {
                gpu.blockLayerNorm = block
                defer { gpu.blockLayerNorm = false }
                let vars = "rows=\(rows) width=\(width) eps=\(eps) offset=40 \(block ? "block" : "warp")-per-row"
                do {
                    let x = rng.floats(rows * width).map { $0 + 40 }
                    let gamma = rng.floats(width, 0.5, 1.5), beta = rng.floats(width, -0.5, 0.5)
                    let ref = try cpu.download(cpu.layerNorm(CPUMatrix(rows: rows, columns: width, values: x), cpu.makeNorm(gamma: gamma, beta: beta, epsilon: eps)))
                    let out = try gpu.download(gpu.layerNorm(gpu.upload(x, rows: rows, columns: width), gpu.makeNorm(gamma: gamma, beta: beta, epsilon: eps)))
                    // FP16 storage of x+40 loses absolute precision (ulp 0.03): compare against the
                    // reference on the same rounded input.
                    if precision == .fp16 {
                        let rounded = try gpu.download(gpu.upload(x, rows: rows, columns: width))
                        let ref16 = try cpu.download(cpu.layerNorm(CPUMatrix(rows: rows, columns: width, values: rounded), cpu.makeNorm(gamma: gamma, beta: beta, epsilon: eps)))
                        record("layerNorm", vars + " (fp16-rounded input)", out, ref16)
                    } else {
                        record("layerNorm", vars, out, ref)
                    }
                } catch { fail("layerNorm", vars, error) }
              }
            }
            // linear: cuBLASLt epilogues (bias, bias+GELU, bias+residual) and the fallback shapes
            let linearCases: [(m: Int, k: Int, n: Int, act: LinearActivation, residual: Bool)] = [
                (1, 768, 2304, .none, false), (7, 768, 768, .none, true), (129, 768, 3072, .gelu, false),
                (128, 3072, 768, .none, true), (5, 768, 2, .none, false), (33, 100, 37, .gelu, false),
                (9, 32, 64, .gelu, false), (3, 64, 32, .none, true), (4, 48, 40, .gelu, true),
                // Row counts of a class (up to a power of two) after a timed one take its algorithm, once cuBLASLt accepts it:
                // 100 and 120 rows that of 128 above; 128 rows that of 65.
                (100, 3072, 768, .none, true), (120, 3072, 768, .none, true), (65, 768, 3072, .gelu, false), (128, 768, 3072, .gelu, false),
            ]
            for c in linearCases {
                var vars = "m=\(c.m) k=\(c.k) n=\(c.n) act=\(c.act == .gelu ? "gelu" : "none") residual=\(c.residual)"
                do {
                    let x = rng.floats(c.m * c.k)
                    let scale = 1 / Float(c.k).squareRoot()
                    let w = rng.floats(c.n * c.k).map { $0 * scale * 1.7 }
                    let b = rng.floats(c.n, -0.5, 0.5)
                    let r = rng.floats(c.m * c.n)
                    let ref = try cpu.download(cpu.linear(
                        CPUMatrix(rows: c.m, columns: c.k, values: x), cpu.makeLinear(weight: w, bias: b, outFeatures: c.n, inFeatures: c.k),
                        activation: c.act, residual: c.residual ? CPUMatrix(rows: c.m, columns: c.n, values: r) : nil))
                    let out = try gpu.download(gpu.linear(
                        gpu.upload(x, rows: c.m, columns: c.k), gpu.makeLinear(weight: w, bias: b, outFeatures: c.n, inFeatures: c.k),
                        activation: c.act, residual: c.residual ? try gpu.upload(r, rows: c.m, columns: c.n) : nil))
                    if let timed = gpu.gemmTimedAtRows(rows: c.m, out: c.n, in: c.k, gelu: c.act == .gelu, residual: c.residual), timed != c.m {
                        vars += " (algorithm timed at m=\(timed))"
                    }
                    record("linear", vars, out, ref, gemm: true)
                } catch { fail("linear", vars, error) }
            }
            // linearResidualNorm: LayerNorm(x · Wᵀ + b + residual), unfused (splits=0), with each split
            // count of the fused form, and with the timed choice; widths without a warp LayerNorm stay unfused
            let residualNormCases: [(m: Int, k: Int, n: Int)] = [(128, 3072, 768), (128, 768, 768), (7, 768, 768), (300, 3072, 768), (5, 1024, 512), (9, 64, 100)]
            for c in residualNormCases {
                let x = rng.floats(c.m * c.k)
                let scale = 1 / Float(c.k).squareRoot()
                let w = rng.floats(c.n * c.k).map { $0 * scale * 1.7 }
                let b = rng.floats(c.n, -0.5, 0.5), r = rng.floats(c.m * c.n)
                let gamma = rng.floats(c.n, 0.5, 1.5), beta = rng.floats(c.n, -0.5, 0.5)
                let variants: [Int?] = [0] + gpu.residualNormSplitCandidates(rows: c.m, out: c.n, in: c.k).map { $0 } + [nil]
                for forced in variants {
                    gpu.forcedResidualNormSplits = forced
                    defer { gpu.forcedResidualNormSplits = nil }
                    var vars = "m=\(c.m) k=\(c.k) n=\(c.n) splits=\(forced.map(String.init) ?? "timed")"
                    do {
                        let ref = try cpu.download(cpu.linearResidualNorm(
                            CPUMatrix(rows: c.m, columns: c.k, values: x), cpu.makeLinear(weight: w, bias: b, outFeatures: c.n, inFeatures: c.k),
                            residual: CPUMatrix(rows: c.m, columns: c.n, values: r), cpu.makeNorm(gamma: gamma, beta: beta, epsilon: 1e-7)))
                        let out = try gpu.download(gpu.linearResidualNorm(
                            gpu.upload(x, rows: c.m, columns: c.k), gpu.makeLinear(weight: w, bias: b, outFeatures: c.n, inFeatures: c.k),
                            residual: gpu.upload(r, rows: c.m, columns: c.n), gpu.makeNorm(gamma: gamma, beta: beta, epsilon: 1e-7)))
                        if forced == nil { vars += " (chose \(gpu.residualNormChoice(rows: c.m, out: c.n, in: c.k).map(String.init) ?? "unfused, no candidates"))" }
                        record("linearResidualNorm", vars, out, ref, gemm: true)
                    } catch { fail("linearResidualNorm", vars, error) }
                }
            }
            // attention over packed sequences with key masks (incl. a fully masked sequence)
            let attentionCases: [(lengths: [Int], heads: Int, headSize: Int, masked: Bool)] = [
                ([128], 12, 64, false), ([1, 7, 129], 12, 64, true), ([5, 3, 16], 2, 16, true), ([384, 60], 12, 64, true),
                ([33], 4, 32, false), ([17, 2], 2, 128, true), ([512], 12, 64, true),
                ([Int](repeating: 100, count: 23) + [77], 12, 64, true),  // enough work for 4-warp blocks
                ([Int](repeating: 128, count: 22) + [1, 7, 50, 3], 12, 64, true),  // 4-warp blocks, short sequences
                // 4-warp blocks, several 64-key tiles (a last tile of 1 key, an exact one), the last sequence fully masked
                ([Int](repeating: 257, count: 12) + [64, 65], 12, 64, true),
            ]
            // FP16: the 64-query-block kernel with 64-key shared K/V tiles on every case (the default),
            // the 16-query kernels on every case (keys split over 4 warps; one warp), and the earlier wide
            // kernels on every case (16-key shared tiles; per-warp tiles); then the FMA kernel.
            let attentionVariants: [(tensorCore: Bool, split: Bool, shared: Bool, keyTile64: Bool, wideItems: Int)] = precision == .fp16
                ? [(true, true, true, true, 0), (true, true, true, true, Int.max), (true, false, true, true, Int.max),
                   (true, true, true, false, 0), (true, true, false, false, 0), (false, false, false, false, 0)]
                : [(false, false, false, false, 0)]
            for (tensorCore, split, shared, keyTile64, wideItems) in attentionVariants {
            gpu.tensorCoreAttention = tensorCore
            gpu.splitAttention = split
            gpu.sharedTileAttention = shared
            gpu.keyTile64Attention = keyTile64
            gpu.attentionWideItems = wideItems
            for c in attentionCases {
                let wide = wideItems == 0
                let kernel = tensorCore && c.headSize == 64
                    ? "tensor-core " + (wide ? (shared ? (keyTile64 ? "shared-64-key-tiles" : "shared-16-key-tiles") : "per-warp-tiles")
                        : (split ? "16-query-split-keys" : "16-query-one-warp")) : "fma"
                if precision == .fp16 && c.headSize != 64 && !(tensorCore && split && keyTile64 && wide) { continue }  // the FMA kernel already ran
                let vars = "lengths=\(c.lengths) heads=\(c.heads) head_size=\(c.headSize) masked=\(c.masked) kernel=\(kernel)"
                do {
                    let total = c.lengths.reduce(0, +)
                    let hidden = c.heads * c.headSize
                    let qkv = rng.floats(total * 3 * hidden, -2, 2)
                    var mask: [UInt8]? = nil
                    if c.masked {
                        var m = [UInt8](repeating: 1, count: total)
                        var offset = 0
                        for (s, length) in c.lengths.enumerated() {
                            for j in 0..<length where rng.int(4) == 0 || (s == 1 && c.lengths.count == 2 && length < 4) { m[offset + j] = 0 }
                            offset += length
                        }
                        // the second sequence of the 3-sequence cases is fully masked
                        if c.lengths.count == 3 { for j in c.lengths[0]..<(c.lengths[0] + c.lengths[1]) { m[j] = 0 } }
                        // and so is the last of the 14-sequence case
                        if c.lengths.count == 14 { for j in (total - c.lengths[13])..<total { m[j] = 0 } }
                        mask = m
                    }
                    let sequences = PackedSequences(lengths: c.lengths, keyMask: mask)
                    let ref = try cpu.download(cpu.attention(qkv: CPUMatrix(rows: total, columns: 3 * hidden, values: qkv), sequences: sequences, heads: c.heads, headSize: c.headSize))
                    let out = try gpu.download(gpu.attention(qkv: gpu.upload(qkv, rows: total, columns: 3 * hidden), sequences: sequences, heads: c.heads, headSize: c.headSize))
                    record("attention", vars, out, ref)
                } catch { fail("attention", vars, error) }
            }
            }
            gpu.tensorCoreAttention = true
            gpu.splitAttention = true
            gpu.sharedTileAttention = true
            gpu.keyTile64Attention = true
            gpu.attentionWideItems = 0
            // gatherRows: exact copies (16-byte path and element path)
            for width in [768, 7, 32] {
                let vars = "width=\(width)"
                do {
                    let a = rng.floats(40 * width), b = rng.floats(9 * width)
                    let segments = [RowSegment(source: 1, start: 2, count: 5), RowSegment(source: 0, start: 0, count: 40),
                                    RowSegment(source: 1, start: 8, count: 1), RowSegment(source: 0, start: 39, count: 0)]
                    let ref = try cpu.download(cpu.gatherRows([CPUMatrix(rows: 40, columns: width, values: a), CPUMatrix(rows: 9, columns: width, values: b)], segments: segments))
                    let out = try gpu.download(gpu.gatherRows([gpu.upload(a, rows: 40, columns: width), gpu.upload(b, rows: 9, columns: width)], segments: segments))
                    record("gatherRows", vars, out, ref, exact: true)
                } catch { fail("gatherRows", vars, error) }
            }
            // typed errors, never a crash
            do {
                _ = try gpu.attention(qkv: gpu.upload(rng.floats(4 * 3 * 24), rows: 4, columns: 72), sequences: PackedSequences(lengths: [4]), heads: 2, headSize: 12)
                let line = CUDACheckLine(group: "ops", name: "errors", vars: "\(precision.rawValue) head_size=12", passed: false, detail: "expected an unsupported error")
                log(line); lines.append(line)
            } catch let error as CUDAError {
                let line = CUDACheckLine(group: "ops", name: "errors", vars: "\(precision.rawValue) head_size=12", passed: true, detail: "typed error: \(error)")
                log(line); lines.append(line)
            }
        }
        return lines
    }

    /// Every case of `cases.json` through the CPU and the CUDA backend at `precision`: the decoded
    /// output must equal upstream's; the largest logit difference to the CPU is reported.
    public static func runFixtures(fixtureDirectory: URL, precision: ComputePrecision, log: (CUDACheckLine) -> Void) async throws -> [CUDACheckLine] {
        let data = try Data(contentsOf: fixtureDirectory.appendingPathComponent("cases.json"))
        let root = try JSONParser.parse(bytes: Array(data), maxDepth: 256)
        let cases = root["cases"]?.arrayValue ?? []
        let modelURL = fixtureDirectory.appendingPathComponent("model")
        let cpuModel = try LoadedModel.load(modelDirectory: modelURL, backend: .cpu)
        let gpuModel = try LoadedModel.load(modelDirectory: modelURL, backend: .cuda, precision: precision)
        guard let cpuPipeline = cpuModel.siameseUIE, let gpuPipeline = gpuModel.siameseUIE else {
            throw EngineError.familyNotImplemented(cpuModel.family)
        }
        let cpuCapture = CapturingForward(cpuPipeline.forward), gpuCapture = CapturingForward(gpuPipeline.forward)
        let cpuRun = SiameseUIEPipeline(tokenizer: cpuPipeline.tokenizer, forward: cpuCapture, limits: cpuPipeline.limits)
        let gpuRun = SiameseUIEPipeline(tokenizer: gpuPipeline.tokenizer, forward: gpuCapture, limits: gpuPipeline.limits)
        var lines: [CUDACheckLine] = []
        for fixture in cases {
            let id = fixture["id"]?.stringValue ?? "?"
            do {
                let text = fixture["text"]?.stringValue ?? ""
                let schema = try Schema(json: fixture["schema"] ?? .null)
                let options = SiameseUIEOptions(outputAllPrefix: fixture["call_kwargs"]?["output_all_prefix"]?.boolValue ?? false)
                cpuCapture.reset(); gpuCapture.reset()
                let cpuResult = try await cpuRun.predict(text: text, schema: schema, options: options)
                let gpuResult = try await gpuRun.predict(text: text, schema: schema, options: options)
                let logits = compare(gpuCapture.values, cpuCapture.values)
                var problems: [String] = []
                if fixture["error"] != nil {
                    if !gpuResult.paths.isEmpty { problems.append("expected no paths for an erroring upstream case") }
                } else if let expected = fixture["output"], gpuResult.json != expected {
                    problems.append("output differs from upstream:\n    cuda:     \(gpuResult.json.serialized())\n    upstream: \(expected.serialized())")
                }
                if gpuResult.json != cpuResult.json { problems.append("output differs from the CPU backend") }
                if !logits.finite { problems.append("non-finite or mismatched logits (\(gpuCapture.values.count) vs \(cpuCapture.values.count))") }
                let line = CUDACheckLine(
                    group: "fixtures", name: id, vars: precision.rawValue, passed: problems.isEmpty,
                    detail: String(format: "logits vs cpu: max_abs %.3e nmse %.3e over %d values; upstream decision margin %.2e",
                                   logits.maxAbs, logits.nmse, cpuCapture.values.count, fixture["margin"]?["min_pivotal_margin"]?.doubleValue ?? .nan)
                        + (problems.isEmpty ? "" : "\n    " + problems.joined(separator: "\n    ")))
                log(line)
                lines.append(line)
            } catch {
                let line = CUDACheckLine(group: "fixtures", name: id, vars: precision.rawValue, passed: false, detail: "error: \(error)")
                log(line)
                lines.append(line)
            }
        }
        return lines
    }
}

extension CUDACheck {
    /// Plans that round-trip (build from the fixture model, load, same decoded output as the CPU on
    /// every fixture case) and plans that are rejected with a clear error (another architecture,
    /// another format version, a truncated file, a plain checkpoint).
    public static func runPlans(fixtureDirectory: URL, precision: ComputePrecision, log: (CUDACheckLine) -> Void) async throws -> [CUDACheckLine] {
        var lines: [CUDACheckLine] = []
        func record(_ name: String, _ passed: Bool, _ detail: String) {
            let line = CUDACheckLine(group: "plans", name: name, vars: precision.rawValue, passed: passed, detail: detail)
            log(line)
            lines.append(line)
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("uninlu-check-plans-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let planURL = dir.appendingPathComponent("fixture-\(precision.rawValue).plan")
        let modelURL = fixtureDirectory.appendingPathComponent("model")
        let started = Date()
        try EnginePlan.build(modelDirectory: modelURL, precision: precision, output: planURL, log: { _ in })
        let buildSeconds = Date().timeIntervalSince(started)
        let loadStart = Date()
        let planModel = try LoadedModel.load(modelDirectory: planURL)
        let cpuModel = try LoadedModel.load(modelDirectory: modelURL, backend: .cpu)
        let data = try Data(contentsOf: fixtureDirectory.appendingPathComponent("cases.json"))
        let cases = try JSONParser.parse(bytes: Array(data), maxDepth: 256)["cases"]?.arrayValue ?? []
        var mismatches: [String] = []
        var first = true
        var firstResult = 0.0
        for fixture in cases where fixture["error"] == nil {
            let text = fixture["text"]?.stringValue ?? ""
            let schema = try Schema(json: fixture["schema"] ?? .null)
            let prefix = fixture["call_kwargs"]?["output_all_prefix"]?.boolValue ?? false
            let a = try await planModel.predict(text: text, schema: schema, outputAllPrefix: prefix)
            if first { firstResult = Date().timeIntervalSince(loadStart); first = false }
            let b = try await cpuModel.predict(text: text, schema: schema, outputAllPrefix: prefix)
            if a.json != b.json { mismatches.append(fixture["id"]?.stringValue ?? "?") }
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: planURL.path)[.size] as? Int) ?? 0
        record("round-trip", mismatches.isEmpty, String(format: "build %.2f s, %d bytes, load to first result %.2f s; %d cases, mismatches vs cpu: %@",
                                                        buildSeconds, size, firstResult, cases.count, mismatches.isEmpty ? "none" : mismatches.joined(separator: ", ")))

        // Rejections: byte-patched copies (same lengths, so the header stays valid safetensors).
        let original = try Data(contentsOf: planURL)
        func patched(_ from: String, _ to: String) -> Data? {
            guard let range = original.range(of: Data(from.utf8)) else { return nil }
            var copy = original
            copy.replaceSubrange(range, with: Data(to.utf8))
            return copy
        }
        let arch = (try? EnginePlan(url: planURL).architecture) ?? "sm_90"
        let wrongArch = arch == "sm_10" ? "sm_11" : "sm_10"
        let fingerprint = KernelLibrary.fingerprint(fp16: precision == .fp16)
        let otherFingerprint = (fingerprint.hasPrefix("0") ? "1" : "0") + fingerprint.dropFirst()   // same length
        let attempts: [(String, Data?, (Error) -> Bool)] = [
            ("rejects another architecture", patched("\"architecture\": \"\(arch)\"", "\"architecture\": \"\(wrongArch)\""), {
                if case EnginePlan.PlanError.wrongArchitecture = $0 { return true } else { return false } }),
            ("rejects another format version", patched("\"format_version\": \"1\"", "\"format_version\": \"9\""), {
                if case EnginePlan.PlanError.unsupportedVersion = $0 { return true } else { return false } }),
            ("rejects a plan of other kernels", patched("\"kernels.fingerprint\": \"\(fingerprint)\"", "\"kernels.fingerprint\": \"\(otherFingerprint)\""), {
                if case EnginePlan.PlanError.otherKernels = $0 { return true } else { return false } }),
            ("rejects a truncated file", original.prefix(original.count / 2), {
                if case EnginePlan.PlanError.notAPlan = $0 { return true } else { return false } }),
            ("rejects a plain checkpoint", try? Data(contentsOf: modelURL.appendingPathComponent("model.safetensors")), {
                if case EnginePlan.PlanError.notAPlan = $0 { return true } else { return false } }),
        ]
        for (name, bytes, expected) in attempts {
            guard let bytes else { record(name, false, "could not prepare the bad plan"); continue }
            let bad = dir.appendingPathComponent("bad.plan")
            try bytes.write(to: bad)
            do {
                _ = try LoadedModel.load(modelDirectory: bad)
                record(name, false, "loaded without an error")
            } catch {
                record(name, expected(error), "\(error)")
            }
        }
        return lines
    }
}

/// Records every pointer logit an engine returns (in call order), for backend-to-backend comparison.
final class CapturingForward: SiameseUIEForward, @unchecked Sendable {
    // @unchecked: `captured` is guarded by `lock`.
    private let inner: any SiameseUIEForward
    private let lock = NSLock()
    private var captured: [Float] = []

    init(_ inner: any SiameseUIEForward) { self.inner = inner }

    func reset() {
        lock.withLock { captured = [] }
    }

    private func append(_ values: [Float]) {
        lock.withLock { captured += values }
    }

    var values: [Float] {
        lock.withLock { captured }
    }

    func encodeTexts(_ texts: [[SiameseTextWindow]]) async throws -> [any SiameseTextCache] {
        try await inner.encodeTexts(texts)
    }

    func pointerLogits(_ jobs: [SiameseHintJob]) async throws -> [[[PointerLogits]]] {
        let result = try await inner.pointerLogits(jobs)
        // Padded positions carry upstream's −10000; keep them (both backends add the same).
        let flat = result.flatMap { $0.flatMap { $0.flatMap { $0.head + $0.tail } } }
        append(flat)
        return result
    }
}
