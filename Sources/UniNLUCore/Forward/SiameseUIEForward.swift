// What the SiameseUIE pipeline asks of an engine, and nothing about how it is computed.
// The split mirrors upstream: the lower layers see the text once (cached), every hint of every
// schema level reuses that cache in the upper layers.

/// One text window as upstream builds it: ids (with [CLS]/[SEP] where upstream has them) and the
/// padding mask (only the last of several windows is padded). Positions are 0..<ids.count, type 0.
public struct SiameseTextWindow: Sendable, Equatable {
    public var ids: [Int32]
    public var attentionMask: [Int32]
    public init(ids: [Int32], attentionMask: [Int32]) {
        self.ids = ids
        self.attentionMask = attentionMask
    }
}

/// The head/tail pointer logits of one (hint, window) pair, one value per window token, with
/// −10000 already added at padded positions (as upstream).
public struct PointerLogits: Sendable, Equatable {
    public var head: [Float]
    public var tail: [Float]
    public init(head: [Float], tail: [Float]) {
        self.head = head
        self.tail = tail
    }
}

/// A text's lower-layer encoding, kept by the engine (host or device memory) until released.
public protocol SiameseTextCache: AnyObject, Sendable {
    var windowCount: Int { get }
}

/// The hints of one schema level of one text: a unit of work for the upper layers.
public struct SiameseHintJob: Sendable {
    public var text: any SiameseTextCache
    /// Token ids of each hint, `[CLS] hint [SEP]`, unpadded.
    public var hints: [[Int32]]
    public init(text: any SiameseTextCache, hints: [[Int32]]) {
        self.text = text
        self.hints = hints
    }
}

/// The pipeline's view of an engine. Engines implement the batched calls (several texts or
/// several requests' jobs in one forward); the single-item calls are conveniences over them. A
/// batching scheduler (the server) implements this protocol too, coalescing concurrent callers.
public protocol SiameseUIEForward: Sendable {
    /// Runs the lower layers over the windows of each text, once. One cache per text.
    func encodeTexts(_ texts: [[SiameseTextWindow]]) async throws -> [any SiameseTextCache]
    /// For every job and every hint: the hint's lower layers (positions continue after the window
    /// length, token type 1), the upper layers over `[window ; hint]` for every window of the
    /// job's text, then the pointer heads. Result is indexed [job][hint][window].
    func pointerLogits(_ jobs: [SiameseHintJob]) async throws -> [[[PointerLogits]]]
}

extension SiameseUIEForward {
    public func encodeText(windows: [SiameseTextWindow]) async throws -> any SiameseTextCache {
        let caches = try await encodeTexts([windows])
        return caches[0]
    }

    public func pointerLogits(text: any SiameseTextCache, hints: [[Int32]]) async throws -> [[PointerLogits]] {
        try await pointerLogits([SiameseHintJob(text: text, hints: hints)])[0]
    }
}
