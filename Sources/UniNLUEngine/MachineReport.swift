import Foundation
import UniNLUCore
import UniNLUCPU
import UniNLUCUDA

// What `uninlu doctor` reports about this machine: CPU model, SIMD features, threads, backends.

public struct MachineReport: Sendable {
    public var cpuModel: String
    public var cpuFeatures: [String]
    public var logicalCores: Int
    public var workerThreads: Int
    public var backends: [(name: String, available: Bool, detail: String)]
    /// The GPU part: device, driver, NVRTC and cuBLASLt, or why CUDA cannot run here.
    public var gpu: CUDAEnvironment

    public static func current() -> MachineReport {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        func field(_ name: String) -> String? {
            info.split(separator: "\n").first { $0.hasPrefix(name) }.flatMap { line in
                line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) }
            }
        }
        let flags = Set((field("flags") ?? "").split(separator: " ").map(String.init))
        let interesting = ["sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile"]
        #if arch(arm64)
        let features = ["neon"]
        #else
        let features = interesting.filter(flags.contains)
        #endif
        let gpu = CUDAEnvironment.probe()
        let cudaDetail: String
        if let device = gpu.device, gpu.canRun {
            cudaDetail = "\(device.name), \(device.architecture), precisions \(gpu.precisions.map(\.rawValue).joined(separator: ", "))"
        } else {
            cudaDetail = gpu.problem?.split(separator: "\n").first.map(String.init) ?? "unavailable"
        }
        return MachineReport(
            cpuModel: field("model name") ?? "unknown",
            cpuFeatures: features,
            logicalCores: ProcessInfo.processInfo.activeProcessorCount,
            workerThreads: CPUParallel.threadCount,
            backends: [
                ("cpu", true, "FP32 reference backend, \(CPUParallel.threadCount) threads"),
                ("cuda", gpu.canRun, cudaDetail),
            ],
            gpu: gpu)
    }

    public var json: JSONValue {
        .object([
            ("cpu", .object([
                ("model", .string(cpuModel)),
                ("features", .array(cpuFeatures.map { .string($0) })),
                ("logical_cores", .number(Double(logicalCores))),
                ("worker_threads", .number(Double(workerThreads))),
            ])),
            ("gpu", gpuJSON),
            ("backends", .array(backends.map {
                .object([("name", .string($0.name)), ("available", .bool($0.available)), ("detail", .string($0.detail))])
            })),
        ])
    }

    var gpuJSON: JSONValue {
        var fields: [(String, JSONValue)] = [("engine_can_run", .bool(gpu.canRun))]
        if let device = gpu.device {
            fields += [
                ("device", .string(device.name)),
                ("compute_capability", .string("\(device.computeCapability.major).\(device.computeCapability.minor)")),
                ("architecture", .string(device.architecture)),
                ("memory_bytes", .number(Double(device.totalMemoryBytes))),
                ("multiprocessors", .number(Double(device.multiprocessorCount))),
                ("driver_cuda_version", .string(device.driverVersionString)),
            ]
        }
        if let v = gpu.nvrtcVersion { fields.append(("nvrtc_version", .string(v))) }
        if let v = gpu.cublasLtVersion { fields.append(("cublaslt_version", .string(v))) }
        fields.append(("precisions", .array(gpu.precisions.map { .string($0.rawValue) })))
        if let problem = gpu.problem { fields.append(("problem", .string(problem))) }
        return .object(fields)
    }

    var gpuLines: [String] {
        var lines = ["GPU:"]
        if let device = gpu.device {
            lines.append("  device:   \(device.name) (compute capability \(device.computeCapability.major).\(device.computeCapability.minor), \(device.architecture), \(device.multiprocessorCount) SMs)")
            lines.append("  memory:   \(String(format: "%.1f", Double(device.totalMemoryBytes) / 1_073_741_824)) GiB")
            lines.append("  driver:   CUDA \(device.driverVersionString) (\(gpu.libraryPaths["cuda"] ?? "libcuda"))")
        } else {
            lines.append("  device:   none")
        }
        lines.append("  NVRTC:    \(gpu.nvrtcVersion ?? "not found")")
        lines.append("  cuBLASLt: \(gpu.cublasLtVersion ?? "not found")")
        lines.append("  precisions: \(gpu.precisions.isEmpty ? "none" : gpu.precisions.map(\.rawValue).joined(separator: ", "))")
        lines.append("  engine:   \(gpu.canRun ? "can run here" : "cannot run here: \(gpu.problem ?? "unknown")")")
        return lines
    }

    public var text: String {
        var lines = ["CPU:      \(cpuModel)",
                     "features: \(cpuFeatures.isEmpty ? "(none detected)" : cpuFeatures.joined(separator: " "))",
                     "threads:  \(workerThreads) worker threads on \(logicalCores) logical cores (UNINLU_CPU_THREADS overrides)",
                     "backends:"]
        for backend in backends {
            lines.append("  \(backend.name.padding(toLength: 6, withPad: " ", startingAt: 0)) \(backend.available ? "ready  " : "absent ") \(backend.detail)")
        }
        lines += gpuLines
        return lines.joined(separator: "\n")
    }
}
