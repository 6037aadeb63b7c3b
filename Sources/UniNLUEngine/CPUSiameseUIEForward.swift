import UniNLUCore
import UniNLUCPU
import UniNLUModels

// SiameseUIE on the CPU backend: the model and its text caches stay on the model thread.

final class CPUSiameseTextCache: SiameseTextCache, @unchecked Sendable {
    // @unchecked: created and read only on the model thread; immutable.
    let encoding: SiameseUIEModel<CPUKernels>.TextEncoding
    init(_ encoding: SiameseUIEModel<CPUKernels>.TextEncoding) { self.encoding = encoding }
    var windowCount: Int { encoding.windowCount }
}

struct SendableBox<T>: @unchecked Sendable {
    // @unchecked: used to move values into the model thread's closures, where they are used alone.
    let value: T
}

final class CPUSiameseUIEForward: SiameseUIEForward {
    private let thread: ModelThread<SiameseUIEModel<CPUKernels>>

    init(model: SiameseUIEModel<CPUKernels>) {
        thread = ModelThread(label: "uninlu.cpu.siamese-uie", model: model)
    }

    func encodeTexts(_ texts: [[SiameseTextWindow]]) async throws -> [any SiameseTextCache] {
        let box = try await thread.run { model in SendableBox(value: try model.encodeTexts(texts)) }
        return box.value.map { CPUSiameseTextCache($0) }
    }

    func pointerLogits(_ jobs: [SiameseHintJob]) async throws -> [[[PointerLogits]]] {
        var modelJobs: [(text: SiameseUIEModel<CPUKernels>.TextEncoding, hints: [[Int32]])] = []
        for job in jobs {
            guard let cache = job.text as? CPUSiameseTextCache else {
                throw ModelError.invalidInput("a text cache from another engine was passed to the CPU engine")
            }
            modelJobs.append((cache.encoding, job.hints))
        }
        let box = SendableBox(value: modelJobs)
        return try await thread.run { model in try model.pointerLogits(box.value) }
    }
}
