import Foundation
import UniNLUCore
import UniNLUCPU

// What `uninlu doctor` reports about this machine: CPU model, SIMD features, threads, backends.

public struct MachineReport: Sendable {
    public var cpuModel: String
    public var cpuFeatures: [String]
    public var logicalCores: Int
    public var workerThreads: Int
    public var backends: [(name: String, available: Bool, detail: String)]

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
        return MachineReport(
            cpuModel: field("model name") ?? "unknown",
            cpuFeatures: features,
            logicalCores: ProcessInfo.processInfo.activeProcessorCount,
            workerThreads: CPUParallel.threadCount,
            backends: [
                ("cpu", true, "FP32 reference backend, \(CPUParallel.threadCount) threads"),
                ("cuda", false, "not part of this build yet"),
            ])
    }

    public var json: JSONValue {
        .object([
            ("cpu", .object([
                ("model", .string(cpuModel)),
                ("features", .array(cpuFeatures.map { .string($0) })),
                ("logical_cores", .number(Double(logicalCores))),
                ("worker_threads", .number(Double(workerThreads))),
            ])),
            ("backends", .array(backends.map {
                .object([("name", .string($0.name)), ("available", .bool($0.available)), ("detail", .string($0.detail))])
            })),
        ])
    }

    public var text: String {
        var lines = ["CPU:      \(cpuModel)",
                     "features: \(cpuFeatures.isEmpty ? "(none detected)" : cpuFeatures.joined(separator: " "))",
                     "threads:  \(workerThreads) worker threads on \(logicalCores) logical cores (UNINLU_CPU_THREADS overrides)",
                     "backends:"]
        for backend in backends {
            lines.append("  \(backend.name.padding(toLength: 6, withPad: " ", startingAt: 0)) \(backend.available ? "ready  " : "absent ") \(backend.detail)")
        }
        return lines.joined(separator: "\n")
    }
}
