import Foundation

// Outstanding tokens per replica, so that a new text goes to the least loaded one. (A text's hint
// jobs then follow it to that replica; they are counted too.)

final class ReplicaLoad: @unchecked Sendable {
    // @unchecked: `tokens` is only touched under `lock`.
    private let lock = NSLock()
    private var tokens: [Int]

    init(replicas: Int) { tokens = Array(repeating: 0, count: replicas) }

    /// Picks the least loaded replica and charges it `cost`.
    func acquireLeastLoaded(cost: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        var best = 0
        for index in tokens.indices where tokens[index] < tokens[best] { best = index }
        tokens[best] += cost
        return best
    }

    func acquire(replica: Int, cost: Int) {
        lock.lock()
        tokens[replica] += cost
        lock.unlock()
    }

    func release(replica: Int, cost: Int) {
        lock.lock()
        tokens[replica] -= cost
        lock.unlock()
    }
}
