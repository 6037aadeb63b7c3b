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

    func encodeText(windows: [SiameseTextWindow]) async throws -> any SiameseTextCache {
        let box = try await thread.run { model in SendableBox(value: try model.encodeText(windows: windows)) }
        return CPUSiameseTextCache(box.value)
    }

    func pointerLogits(text: any SiameseTextCache, hints: [[Int32]]) async throws -> [[PointerLogits]] {
        guard let cache = text as? CPUSiameseTextCache else {
            throw ModelError.invalidInput("text cache from another engine")
        }
        return try await thread.run { model in try model.pointerLogits(text: cache.encoding, hints: hints) }
    }
}
