import Foundation

// Admission at the door (TEI's semaphore): at most `capacity` texts in the system at once. A
// request that would exceed it is refused immediately (429), never queued without bound.

final class AdmissionControl: @unchecked Sendable {
    // @unchecked: `admitted` is only touched under `lock`.
    private let lock = NSLock()
    private var admitted = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Admits `count` texts, all or none.
    func tryAdmit(_ count: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard admitted + count <= capacity else { return false }
        admitted += count
        return true
    }

    func release(_ count: Int) {
        lock.lock()
        admitted -= count
        lock.unlock()
    }
}
