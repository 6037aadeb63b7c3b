import Foundation

// Resident memory of this process, from /proc/self/statm (Linux). With the CPU backend the
// model's weights and activations live here, so it stands in for "device memory in use".

enum ProcessMemory {
    static func residentBytes() -> Int? {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
