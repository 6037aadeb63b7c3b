import UniNLUCore

// The scheduler's handle on a text encoded by one replica: the replica's own cache, which replica
// holds it (a text's hint jobs must run where its lower-layer encoding lives) and its window
// lengths (to price hint jobs against the token budget).

final class ScheduledTextCache: SiameseTextCache {
    let inner: any SiameseTextCache
    let replica: Int
    let windowLengths: [Int]

    init(inner: any SiameseTextCache, replica: Int, windowLengths: [Int]) {
        self.inner = inner
        self.replica = replica
        self.windowLengths = windowLengths
    }

    var windowCount: Int { inner.windowCount }
}
