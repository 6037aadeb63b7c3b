import Foundation
import UniNLUCheckpoint
import UniNLUCore
import UniNLUCUDA
import UniNLUModels
import UniNLUPipelines

// Engine plan files (`uninlu build … --output FILE.plan`): one file holding everything the CUDA
// engine needs, read by this type.
//
// Layout: a plan IS a safetensors file (so its weights load through the same strict, validated
// reader as a checkpoint, memory-mapped):
//     [8 bytes]  N, u64 little-endian: header length
//     [N bytes]  JSON header: one entry per tensor { "dtype": "F16"|"F32", "shape": […], "data_offsets": [b, e] },
//                plus "__metadata__", a string→string map:
//                  "format"           "uninlu-plan"                      (anything else: not a plan)
//                  "format_version"   "1"                                (other versions are rejected)
//                  "family"           "siamese-uie" | "rex-uninlu"
//                  "precision"        "fp16" | "fp32"                    (the weights' dtype: F16 | F32)
//                  "architecture"     "sm_90"                            (must equal the GPU's; else rejected)
//                  "device"           GPU name at build time (information only)
//                  "nvrtc", "cublaslt", "created_by"                     (information only)
//                  "kernels.cubin"    base64 of the kernel library's cubin for `architecture` and `precision`
//                  "kernels.fingerprint"  KernelLibrary.fingerprint of the source it was compiled from
//                                     (a plan from a build with other kernels is rejected: rebuild it)
//                  "file.<name>"      config.json, configuration.json, vocab.txt, tokenizer_config.json verbatim
//                                     (config.json and vocab.txt required; the others when the model had them)
//                  "gemm.tuned"       JSON list of cuBLASLt choices {m,n,k,gelu,residual,algo: base64 of the
//                                     64-byte cublasLtMatmulAlgo_t}; used only when "cublaslt" equals the
//                                     loading library's version, otherwise re-tuned on first use
//     [rest]     tensor data: the checkpoint's float tensors (upstream names, unfused), converted once to
//                the plan's precision; the ignored upstream tensors (pooler, position_ids) are left out;
//                RexUniNLU's `rotary_emb.freqs` stays F32 (angles are computed in FP32 as upstream).
// Every check names what it rejects: a plan from another GPU architecture, another format version,
// a truncated or foreign file is a clear error, never a crash.

public struct EnginePlan {
    public static let formatName = "uninlu-plan"
    public static let formatVersion = 1
    static let copiedFiles = ["config.json", "configuration.json", "vocab.txt", "tokenizer_config.json"]

    public enum PlanError: Error, CustomStringConvertible {
        case notAPlan(file: String, reason: String)
        case unsupportedVersion(file: String, found: String)
        case wrongArchitecture(file: String, plan: String, planDevice: String, device: String, deviceArchitecture: String)
        case missingField(file: String, field: String)
        case needsGPU(file: String, reason: String)
        case otherKernels(file: String)

        public var description: String {
            switch self {
            case let .notAPlan(file, reason): return "\(file) is not a UniNLU engine plan: \(reason)"
            case let .unsupportedVersion(file, found):
                return "\(file) is an engine plan of format version \(found); this build reads version \(EnginePlan.formatVersion): rebuild it with `uninlu build`"
            case let .wrongArchitecture(file, plan, planDevice, device, arch):
                return "\(file) was built for \(plan) (\(planDevice)); this GPU is \(device) (\(arch)): rebuild the plan on this machine with `uninlu build`"
            case let .missingField(file, field): return "engine plan \(file) lacks \"\(field)\": rebuild it with `uninlu build`"
            case let .needsGPU(file, reason): return "engine plan \(file) runs on the CUDA backend only, which is not available here: \(reason)"
            case let .otherKernels(file):
                return "engine plan \(file) was built by a UniNLU with other GPU kernels than this build's: rebuild it with `uninlu build`"
            }
        }
    }

    public let url: URL
    public let metadata: [String: String]
    public let reader: SafetensorsFile
    public var precision: ComputePrecision { metadata["precision"] == "fp32" ? .fp32 : .fp16 }
    public var architecture: String { metadata["architecture"] ?? "?" }

    /// Opens and validates a plan's header (no GPU needed).
    public init(url: URL) throws {
        self.url = url
        let reader: SafetensorsFile
        do {
            reader = try SafetensorsFile(url: url)
        } catch {
            throw PlanError.notAPlan(file: url.path, reason: "\(error)")
        }
        let m = reader.metadata
        guard m["format"] == Self.formatName else {
            throw PlanError.notAPlan(file: url.path, reason: "its header has no \"format\": \"\(Self.formatName)\" (a plain safetensors checkpoint belongs in a model directory)")
        }
        guard m["format_version"] == String(Self.formatVersion) else {
            throw PlanError.unsupportedVersion(file: url.path, found: m["format_version"] ?? "(none)")
        }
        // configuration.json is optional (the family then comes from config.json's model_type, as for a
        // RexUniNLU directory); tokenizer_config.json too.
        for field in ["family", "precision", "architecture", "kernels.cubin", "kernels.fingerprint"] + ["config.json", "vocab.txt"].map({ "file.\($0)" })
        where m[field] == nil {
            throw PlanError.missingField(file: url.path, field: field)
        }
        guard m["precision"] == "fp16" || m["precision"] == "fp32" else {
            throw PlanError.notAPlan(file: url.path, reason: "unknown precision \(m["precision"] ?? "")")
        }
        guard m["kernels.fingerprint"] == KernelLibrary.fingerprint(fp16: m["precision"] == "fp16") else {
            throw PlanError.otherKernels(file: url.path)
        }
        self.metadata = m
        self.reader = reader
    }

    /// Rejects a plan built for another GPU architecture than `device`'s.
    public func validate(for device: CUDADeviceInfo) throws {
        guard architecture == device.architecture else {
            throw PlanError.wrongArchitecture(file: url.path, plan: architecture, planDevice: metadata["device"] ?? "?",
                                              device: device.name, deviceArchitecture: device.architecture)
        }
    }

    public var cubin: [UInt8] {
        get throws {
            guard let text = metadata["kernels.cubin"], let data = Data(base64Encoded: text) else {
                throw PlanError.missingField(file: url.path, field: "kernels.cubin")
            }
            return Array(data)
        }
    }

    /// Writes the model files into a fresh temporary directory (a ModelDirectory for the tokenizer
    /// and the configuration).
    func extractModelFiles() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("uninlu-plan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in Self.copiedFiles {
            if let text = metadata["file.\(name)"] {
                try Data(text.utf8).write(to: dir.appendingPathComponent(name))
            }
        }
        return dir
    }

    /// Builds a plan from a model directory on this machine's GPU: converts the weights once,
    /// compiles the kernel library for the GPU's architecture, tunes the GEMMs of a warm-up forward.
    public static func build(modelDirectory: URL, precision: ComputePrecision, output: URL, log: (String) -> Void) throws {
        let directory = try ModelDirectory(url: modelDirectory)
        let env = CUDAEnvironment.probe()
        guard env.canRun, let device = env.device else {
            throw PlanError.needsGPU(file: output.path, reason: env.problem ?? "no usable GPU")
        }
        let started = Date()
        let context = try CUDAContext()
        let cudaPrecision = try precision.cuda()
        let cubin = try CUDAKernels.compileLibrary(for: device, precision: cudaPrecision)
        log(String(format: "compiled kernels for %@ (%d bytes) in %.2f s", device.architecture, cubin.count, Date().timeIntervalSince(started)))

        // Tune the GEMMs of representative shapes on the real weights.
        let kernels = try CUDAKernels(context: context, precision: cudaPrecision, cubin: cubin)
        let skipped: Set<String>
        switch directory.family {
        case .siameseUIE:
            let configuration = try directory.decodeConfig(BertConfiguration.self)
            let model = try SiameseUIEModel(configuration: configuration, kernels: kernels,
                                            store: TensorStore(try Checkpoint.open(modelDirectory: modelDirectory)))
            for length in [16, 64, 128, 256, 384] {
                let window = SiameseTextWindow(ids: [101] + [Int32](repeating: 800, count: length - 2) + [102], attentionMask: [Int32](repeating: 1, count: length))
                let text = try model.encodeTexts([[window]])
                _ = try model.pointerLogits([(text: text[0], hints: [[Int32]](repeating: [101, 700, 701, 102], count: 4))])
            }
            skipped = Set(SiameseUIEModel<CUDAKernels>.ignoredTensorNames)
        case .rexUniNLU:
            let configuration = try directory.decodeConfig(DebertaV2Configuration.self)
            let model = try RexUniNLUModel(configuration: configuration, kernels: kernels,
                                           store: TensorStore(try Checkpoint.open(modelDirectory: modelDirectory)))
            for lengths in [[16], [64], [128], [256], [512], [40, 60, 80, 100]] {
                _ = try model.tokenPairLogits(lengths.map { n in
                    RexForwardJob(ids: [101] + [Int32](repeating: 800, count: n - 2) + [102], positions: (0..<n).map { Int32($0) },
                                  mask: [UInt8](repeating: 1, count: n * n))
                })
            }
            skipped = []
        }
        let tuned = kernels.exportTunedGemms()
        log("tuned \(tuned.count) GEMM shapes")

        // Weights, converted once to the plan's precision.
        let checkpoint = try Checkpoint.open(modelDirectory: modelDirectory)
        let keptFP32: Set<String> = [RexUniNLUWeightNames.frequencies]
        var header: [(String, JSONValue)] = []
        var blobs: [Data] = []
        var offset = 0
        for name in checkpoint.tensorNames where !skipped.contains(name) {
            let tensor = try checkpoint.tensor(named: name)
            let values = try tensor.floats()
            var data: Data
            let half = precision == .fp16 && !keptFP32.contains(name)
            if half {
                data = Data(count: values.count * 2)
                data.withUnsafeMutableBytes { raw in
                    let out = raw.bindMemory(to: UInt16.self)
                    for i in 0..<values.count { out[i] = Float16(values[i]).bitPattern.littleEndian }
                }
            } else {
                data = values.withUnsafeBytes { Data($0) }
            }
            header.append((name, .object([
                ("dtype", .string(half ? "F16" : "F32")),
                ("shape", .array(tensor.logicalShape.map { .number(Double($0)) })),  // dequantized
                ("data_offsets", .array([.number(Double(offset)), .number(Double(offset + data.count))])),
            ])))
            offset += data.count
            blobs.append(data)
        }
        var meta: [(String, JSONValue)] = [
            ("format", .string(formatName)), ("format_version", .string(String(formatVersion))),
            ("family", .string(directory.family == .rexUniNLU ? "rex-uninlu" : "siamese-uie")), ("precision", .string(precision.rawValue)),
            ("architecture", .string(device.architecture)), ("device", .string(device.name)),
            ("nvrtc", .string(env.nvrtcVersion ?? "?")), ("cublaslt", .string(env.cublasLtVersion ?? "?")),
            ("created_by", .string("uninlu build")),
            ("kernels.cubin", .string(Data(cubin).base64EncodedString())),
            ("kernels.fingerprint", .string(KernelLibrary.fingerprint(fp16: precision == .fp16))),
            ("gemm.tuned", .string(JSONValue.array(tuned).serialized())),
        ]
        for name in copiedFiles {
            if let data = try? Data(contentsOf: modelDirectory.appendingPathComponent(name)) {
                meta.append(("file.\(name)", .string(String(decoding: data, as: UTF8.self))))
            }
        }
        header.append(("__metadata__", .object(meta)))
        var headerBytes = Array(JSONValue.object(header).serialized().utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var file = Data()
        var length = UInt64(headerBytes.count).littleEndian
        file.append(Data(bytes: &length, count: 8))
        file.append(contentsOf: headerBytes)
        for blob in blobs { file.append(blob) }
        try file.write(to: output)
        log(String(format: "wrote %@ (%.1f MB, %@) in %.1f s", output.path, Double(file.count) / 1e6, precision.rawValue, Date().timeIntervalSince(started)))
    }
}

extension LoadedModel {
    /// Loads an engine plan on CUDA device `device` (the plan's precision; its kernels and GEMM
    /// choices). A `precision` other than the plan's is refused: the weights are stored in it.
    public static func load(
        plan url: URL, precision: ComputePrecision? = nil, device ordinal: Int = 0, limits: InputLimits = InputLimits(),
        graphPolicy: CUDAGraphPolicy = CUDAGraphPolicy()
    ) throws -> LoadedModel {
        let plan = try EnginePlan(url: url)
        let env = CUDAEnvironment.probe()
        guard env.canRun else {
            throw EnginePlan.PlanError.needsGPU(file: url.path, reason: env.problem ?? "no usable GPU")
        }
        try checkDevice(ordinal)
        let device = try CUDADriver.deviceInfo(ordinal: ordinal)
        try plan.validate(for: device)
        if let precision, precision != plan.precision {
            throw EngineError.unsupportedPrecision(
                precision: precision.rawValue, backend: "engine plan \(url.lastPathComponent)", supported: [plan.precision.rawValue])
        }
        let dir = try plan.extractModelFiles()
        defer { try? FileManager.default.removeItem(at: dir) }
        let directory = try ModelDirectory(url: dir)
        let tokenizer = try loadTokenizer(directory)
        let kernels = try CUDAKernels(context: CUDAContext(ordinal: ordinal), precision: plan.precision.cuda(), cubin: plan.cubin)
        kernels.graphPolicy = graphPolicy
        if plan.metadata["cublaslt"] == env.cublasLtVersion, let tuned = plan.metadata["gemm.tuned"],
           let list = try? JSONParser.parse(bytes: Array(tuned.utf8)).arrayValue {
            try kernels.importTunedGemms(list)
        }
        try kernels.reserveWeights(for: plan.reader, ignoring: [])
        if directory.family == .rexUniNLU {
            let configuration = try directory.decodeConfig(DebertaV2Configuration.self)
            let model = try RexUniNLUModel(configuration: configuration, kernels: kernels, store: TensorStore(plan.reader))
            let forward = CUDARexUniNLUForward(model: model, device: ordinal)
            let pipeline = RexUniNLUPipeline(tokenizer: tokenizer, forward: forward, limits: limits)
            var loaded = LoadedModel(directory: directory, backend: .cuda, tokenizer: tokenizer, siameseUIE: nil, rexUniNLU: pipeline)
            loaded.precision = plan.precision
            loaded.device = ordinal
            loaded.graphStatistics = forward
            return loaded
        }
        let configuration = try directory.decodeConfig(BertConfiguration.self)
        let model = try SiameseUIEModel(configuration: configuration, kernels: kernels, store: TensorStore(plan.reader))
        let forward = CUDASiameseUIEForward(model: model, device: ordinal)
        let pipeline = SiameseUIEPipeline(tokenizer: tokenizer, forward: forward, limits: limits)
        var loaded = LoadedModel(directory: directory, backend: .cuda, tokenizer: tokenizer, siameseUIE: pipeline)
        loaded.precision = plan.precision
        loaded.device = ordinal
        loaded.graphStatistics = forward
        return loaded
    }
}
