import Foundation
import Synchronization

/// Host-side phase timestamps for diagnosing where a model call spends its time on the CPU
/// (UNINLU_TRACE_HOST=1; off by default, when `mark` is one branch). A call site marks the end of
/// each phase; `flush` writes "label: phase1 1.234 ms, phase2 …" to standard error and starts over.
/// Phases that wait for the GPU say so in their names.
public enum HostTrace {
    public static let enabled = ProcessInfo.processInfo.environment["UNINLU_TRACE_HOST"] == "1"
    private static let marks = Mutex<[(String, UInt64)]>([])

    @inline(__always)
    public static func mark(_ phase: @autoclosure () -> String) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        let name = phase()
        marks.withLock { $0.append((name, now)) }
    }

    /// Writes the phases since the first mark (or the last flush) and clears them.
    public static func flush(_ label: String) {
        guard enabled else { return }
        let taken = marks.withLock { list -> [(String, UInt64)] in
            defer { list.removeAll(keepingCapacity: true) }
            return list
        }
        guard let first = taken.first else { return }
        var previous = first.1
        var parts: [String] = []
        for (name, time) in taken.dropFirst() {
            parts.append(name + " " + String(format: "%.3f", Double(time - previous) / 1e6) + " ms")
            previous = time
        }
        let line = "\(label) [\(first.0) →]: " + parts.joined(separator: ", ") + "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
