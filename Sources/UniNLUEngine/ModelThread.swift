import Dispatch

// The model lives on one serial queue (TEI's BackendThread): async callers submit closures and
// await the result, so no forward pass runs on Swift's cooperative pool and the non-Sendable
// model is touched by one thread at a time.

final class ModelThread<Model>: @unchecked Sendable {
    // @unchecked: `model` is only read or used inside `queue`'s closures.
    private let queue: DispatchQueue
    private let model: Model

    init(label: String, model: Model) {
        queue = DispatchQueue(label: label, qos: .userInitiated)
        self.model = model
    }

    func run<T>(_ body: @escaping @Sendable (Model) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body(self.model) })
            }
        }
    }
}
