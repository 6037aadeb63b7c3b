import UniNLUCheckpoint
import UniNLUCore
import UniNLUCUDA
import UniNLUModels

// SiameseUIE on the CUDA backend. The model, its CUDA context and every text cache live on the
// model thread; a text's lower-layer encoding stays in device memory and is reused by every hint of
// every schema level (one packed forward per level), and returns to the pool when the pipeline
// drops the cache.

final class CUDASiameseTextCache: SiameseTextCache, @unchecked Sendable {
    // @unchecked: created and read only on the model thread; immutable (device memory is released
    // through the pool's lock, from any thread).
    let encoding: SiameseUIEModel<CUDAKernels>.TextEncoding
    init(_ encoding: SiameseUIEModel<CUDAKernels>.TextEncoding) { self.encoding = encoding }
    var windowCount: Int { encoding.windowCount }
}

final class CUDASiameseUIEForward: SiameseUIEForward, CUDAGraphStatistics {
    private let thread: ModelThread<SiameseUIEModel<CUDAKernels>>

    /// - Parameter device: the ordinal of `model`'s context, for the thread's name.
    init(model: SiameseUIEModel<CUDAKernels>, device: Int) {
        thread = ModelThread(label: "uninlu.cuda\(device).siamese-uie", model: model)
    }

    func graphCounters() async throws -> CUDAGraphCounters {
        try await thread.run { $0.kernels.graphCounters }
    }

    func encodeTexts(_ texts: [[SiameseTextWindow]]) async throws -> [any SiameseTextCache] {
        let box = try await thread.run { model in
            try model.kernels.context.makeCurrent()
            return SendableBox(value: try model.encodeTexts(texts))
        }
        return box.value.map { CUDASiameseTextCache($0) }
    }

    func pointerLogits(_ jobs: [SiameseHintJob]) async throws -> [[[PointerLogits]]] {
        var modelJobs: [(text: SiameseUIEModel<CUDAKernels>.TextEncoding, hints: [[Int32]])] = []
        for job in jobs {
            guard let cache = job.text as? CUDASiameseTextCache else {
                throw ModelError.invalidInput("a text cache from another engine was passed to the CUDA engine")
            }
            modelJobs.append((cache.encoding, job.hints))
        }
        let box = SendableBox(value: modelJobs)
        return try await thread.run { model in
            try model.kernels.context.makeCurrent()
            return try model.pointerLogits(box.value)
        }
    }
}

extension CUDAKernels {
    /// Reserves one device allocation for every float tensor of `reader` (less `ignored`).
    func reserveWeights(for reader: any CheckpointReader, ignoring ignored: [String]) throws {
        let skip = Set(ignored)
        var elements = 0, tensors = 0
        for name in reader.tensorNames where !skip.contains(name) {
            let tensor = try reader.tensor(named: name)
            elements += tensor.logicalShape.reduce(1, *)  // quantized weights are uploaded dequantized
            tensors += 1
        }
        try reserveWeights(elements: elements, tensors: tensors)
    }
}
