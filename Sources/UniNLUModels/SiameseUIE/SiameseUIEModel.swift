import UniNLUCheckpoint
import UniNLUCore

// SiameseUIE (ModelScope `SiameseUieModel`): a BERT encoder split into a lower stack that sees the
// text and the hint separately and an upper stack over their concatenation, then two 768→1
// pointer heads. Tensor names are verbatim from the upstream state dict.

public final class SiameseUIEModel<K: EncoderKernels> {
    public let encoder: BertEncoder<K>
    /// Number of lower layers (upstream fixes 6 of 12: `set_crossattention_layer(6)`).
    public let lowerLayerCount: Int
    /// head_clsf and tail_clsf stacked into one [2 x H] linear: column 0 = head, 1 = tail.
    let pointerHeads: K.Linear
    public var kernels: K { encoder.kernels }

    /// Upstream's split: the last `upperLayerCount` layers live under `crossattention.layer`.
    public static var upperLayerCount: Int { 6 }

    public static var ignoredTensorNames: [String] {
        ["plm.embeddings.position_ids", "plm.pooler.dense.weight", "plm.pooler.dense.bias"]
    }

    public init(configuration: BertConfiguration, kernels: K, store: TensorStore) throws {
        let upper = Self.upperLayerCount
        guard configuration.layerCount > upper else {
            throw ModelError.unsupportedConfiguration(
                family: "SiameseUIE", problems: ["num_hidden_layers \(configuration.layerCount) must exceed the \(upper) cross-attention layers"])
        }
        lowerLayerCount = configuration.layerCount - upper
        store.ignore(Self.ignoredTensorNames)
        encoder = try BertEncoder.load(
            configuration: configuration, kernels: kernels, store: store, root: "plm",
            layerPrefixes: [("plm.encoder.layer", lowerLayerCount), ("crossattention.layer", upper)])
        let h = configuration.hiddenSize
        let weight = try store.take("head_clsf.weight", shape: [1, h]) + store.take("tail_clsf.weight", shape: [1, h])
        let bias = try store.take("head_clsf.bias", shape: [1]) + store.take("tail_clsf.bias", shape: [1])
        pointerHeads = try kernels.makeLinear(weight: weight, bias: bias, outFeatures: 2, inFeatures: h)
        try store.finish()
    }

    public struct TextEncoding {
        public let hidden: K.Activations
        public let windowLength: Int
        public let masks: [[Int32]]
        public var windowCount: Int { masks.count }
    }

    /// Lower layers over every window of one text (positions 0..<Lw, type 0, key mask = padding).
    public func encodeText(windows: [SiameseTextWindow]) throws -> TextEncoding {
        guard let length = windows.first?.ids.count, length > 0,
              windows.allSatisfy({ $0.ids.count == length && $0.attentionMask.count == length })
        else { throw ModelError.invalidInput("text windows must be non-empty and of equal length") }
        let ids = windows.flatMap(\.ids)
        let positions = windows.flatMap { _ in (0..<length).map(Int32.init) }
        let types = [Int32](repeating: 0, count: ids.count)
        let mask = windows.flatMap { $0.attentionMask.map { $0 == 0 ? UInt8(0) : 1 } }
        let sequences = PackedSequences(lengths: Array(repeating: length, count: windows.count), keyMask: mask)
        let embedded = try encoder.embed(ids: ids, positions: positions, tokenTypes: types)
        let hidden = try encoder.run(embedded, layers: 0..<lowerLayerCount, sequences: sequences)
        return TextEncoding(hidden: hidden, windowLength: length, masks: windows.map(\.attentionMask))
    }

    /// Pointer logits for each hint over each window, [hint][window]; all pairs run as one packed batch.
    public func pointerLogits(text: TextEncoding, hints: [[Int32]]) throws -> [[PointerLogits]] {
        guard !hints.isEmpty else { return [] }
        let lw = text.windowLength
        guard hints.allSatisfy({ !$0.isEmpty && lw + $0.count <= encoder.configuration.maxPositions }) else {
            throw ModelError.invalidInput("hint of \(hints.map(\.count).max() ?? 0) tokens after a \(lw)-token window exceeds \(encoder.configuration.maxPositions) positions")
        }
        // Lower layers over all hints at once (no padding, so no mask).
        let hintIDs = hints.flatMap { $0 }
        let hintPositions = hints.flatMap { h in (0..<h.count).map { Int32(lw + $0) } }
        let hintTypes = [Int32](repeating: 1, count: hintIDs.count)
        let hintSequences = PackedSequences(lengths: hints.map(\.count))
        let hintHidden = try encoder.run(
            encoder.embed(ids: hintIDs, positions: hintPositions, tokenTypes: hintTypes),
            layers: 0..<lowerLayerCount, sequences: hintSequences)

        // Upper layers over every [window ; hint] pair.
        var segments: [RowSegment] = []
        var lengths: [Int] = []
        var mask: [UInt8] = []
        for (h, hint) in hints.enumerated() {
            for w in 0..<text.windowCount {
                segments.append(RowSegment(source: 0, start: w * lw, count: lw))
                segments.append(RowSegment(source: 1, start: hintSequences.offsets[h], count: hint.count))
                lengths.append(lw + hint.count)
                mask += text.masks[w].map { $0 == 0 ? 0 : 1 }
                mask += [UInt8](repeating: 1, count: hint.count)
            }
        }
        let joined = try kernels.gatherRows([text.hidden, hintHidden], segments: segments)
        let pairs = PackedSequences(lengths: lengths, keyMask: mask)
        let upper = try encoder.run(joined, layers: lowerLayerCount..<encoder.layerCount, sequences: pairs)

        // Heads on the text rows only.
        let textRows = (0..<lengths.count).map { RowSegment(source: 0, start: pairs.offsets[$0], count: lw) }
        let logits = try kernels.download(
            kernels.linear(kernels.gatherRows([upper], segments: textRows), pointerHeads, activation: .none, residual: nil))
        var result: [[PointerLogits]] = []
        var pair = 0
        for _ in hints {
            var perWindow: [PointerLogits] = []
            for w in 0..<text.windowCount {
                var head = [Float](repeating: 0, count: lw)
                var tail = [Float](repeating: 0, count: lw)
                for t in 0..<lw {
                    let padding: Float = text.masks[w][t] == 0 ? -10000 : 0
                    head[t] = logits[(pair * lw + t) * 2] + padding
                    tail[t] = logits[(pair * lw + t) * 2 + 1] + padding
                }
                perWindow.append(PointerLogits(head: head, tail: tail))
                pair += 1
            }
            result.append(perWindow)
        }
        return result
    }
}
