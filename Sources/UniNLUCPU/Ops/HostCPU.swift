#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// What the CPU we run on can do, read once. On Linux the kernel's /proc/cpuinfo flags already
// account for OS support (it clears avx/avx2 when the OS does not save the YMM state).

public struct HostCPU: Sendable {
    public let modelName: String
    public let flags: Set<String>

    public var hasAVX2FMA: Bool { flags.contains("avx2") && flags.contains("fma") }

    public static let current: HostCPU = {
        #if os(Linux)
        if let text = readText("/proc/cpuinfo") { return parse(cpuinfo: text) }
        #endif
        return HostCPU(modelName: "unknown", flags: [])
    }()

    /// Parses the first processor block of /proc/cpuinfo.
    static func parse(cpuinfo: String) -> HostCPU {
        var model = "unknown"
        var flags: Set<String> = []
        for line in cpuinfo.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingSpaces
            if key == "model name", model == "unknown" { model = String(parts[1].trimmingSpaces) }
            if key == "flags", flags.isEmpty { flags = Set(parts[1].split(separator: " ").map(String.init)) }
        }
        return HostCPU(modelName: model, flags: flags)
    }

    private static func readText(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
