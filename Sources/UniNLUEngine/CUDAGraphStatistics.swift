import UniNLUCUDA

/// A CUDA engine that can report its graph cache (read on its model thread).
protocol CUDAGraphStatistics: Sendable {
    func graphCounters() async throws -> CUDAGraphCounters
}
