import Dispatch

// Work splitting for the CPU backend: all cores through libdispatch, serial for tiny jobs where
// waking threads costs more than the work.

public enum CPUParallel {
    /// Number of worker threads used for large ops.
    public static let threadCount: Int = {
        if let env = getenvInt("UNINLU_CPU_THREADS"), env > 0 { return env }
        return max(1, ProcessInfoCores.active)
    }()

    /// Runs `body(i)` for i in 0..<count, in parallel when `work` (a rough FLOP count) is worth it.
    public static func forEach(_ count: Int, work: Int = .max, _ body: (Int) -> Void) {
        if count <= 1 || threadCount == 1 || work < 200_000 {
            for i in 0..<count { body(i) }
        } else {
            // concurrentPerform returns only when every iteration has run, so the closure never
            // outlives this call; ops hand each iteration a disjoint slice of their buffers.
            withoutActuallyEscaping(body) { escapable in
                let shared = unsafeBitCast(escapable, to: (@Sendable (Int) -> Void).self)
                DispatchQueue.concurrentPerform(iterations: count, execute: shared)
            }
        }
    }

    /// Splits 0..<total into at most `threadCount * 2` contiguous chunks of at least `grain`.
    public static func chunks(_ total: Int, grain: Int) -> [Range<Int>] {
        guard total > 0 else { return [] }
        let pieces = max(1, min(threadCount * 2, (total + grain - 1) / grain))
        let size = (total + pieces - 1) / pieces
        return stride(from: 0, to: total, by: size).map { $0..<min($0 + size, total) }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private func getenvInt(_ name: String) -> Int? {
    guard let raw = getenv(name) else { return nil }
    return Int(String(cString: raw))
}

enum ProcessInfoCores {
    static var active: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}
