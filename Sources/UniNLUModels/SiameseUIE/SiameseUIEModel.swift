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

    /// The lower-layer output of one text's windows: window w is rows `rowStart + w · rowsPerWindow`
    /// ..< `+ windowLength` of `hidden` (several texts encoded together share one activation); the
    /// rows past `windowLength` are bucket padding.
    public struct TextEncoding {
        public let hidden: K.Activations
        public let rowStart: Int
        public let windowLength: Int
        public let rowsPerWindow: Int
        public let masks: [[Int32]]
        public var windowCount: Int { masks.count }
    }

    /// `length` rounded up to `bucket`: the backend's length bucket (`EncoderKernels.lengthBucket`),
    /// or 1 for a forward over `lengthBucketMaxTokens` (never replayed, so never padded). Padding
    /// rows are masked as keys wherever they go and their outputs are never read, so a real row's
    /// result does not depend on them (its position and its keys are unchanged).
    func bucketed(_ length: Int, _ bucket: Int) -> Int { PackedSequences.bucketed(length, bucket: bucket) }

    /// Positions of `count` padding rows after a sequence's real ones, clamped to the table.
    private func paddingPositions(after last: Int, count: Int) -> [Int32] {
        (0..<count).map { Int32(min(last + 1 + $0, encoder.configuration.maxPositions - 1)) }
    }

    /// Lower layers over every window of each text in one packed forward (positions 0..<Lw,
    /// type 0, key mask = padding). Returns one encoding per text.
    public func encodeTexts(_ texts: [[SiameseTextWindow]]) throws -> [TextEncoding] {
        guard !texts.isEmpty else { return [] }
        var ids: [Int32] = [], positions: [Int32] = [], mask: [UInt8] = [], lengths: [Int] = []
        let bucket = PackedSequences.effectiveBucket(
            lengths: texts.flatMap { $0.map(\.ids.count) }, bucket: kernels.lengthBucket, maxTokens: kernels.lengthBucketMaxTokens)
        for windows in texts {
            guard let length = windows.first?.ids.count, length > 0,
                  length <= encoder.configuration.maxPositions,
                  windows.allSatisfy({ $0.ids.count == length && $0.attentionMask.count == length })
            else { throw ModelError.invalidInput("text windows must be non-empty, of equal length and fit the position table") }
            let rows = bucketed(length, bucket)
            for window in windows {
                ids += window.ids + [Int32](repeating: 0, count: rows - length)
                positions += (0..<length).map(Int32.init) + paddingPositions(after: length - 1, count: rows - length)
                mask += window.attentionMask.map { $0 == 0 ? 0 : 1 } + [UInt8](repeating: 0, count: rows - length)
                lengths.append(rows)
            }
        }
        let sequences = PackedSequences(lengths: lengths, keyMask: mask)
        let shape = ForwardShape(region: "siamese.texts", lengths: lengths, tokens: ids.count)
        guard let hidden = try kernels.replayable(shape, {
            let embedded = try encoder.embed(ids: ids, positions: positions, tokenTypes: [Int32](repeating: 0, count: ids.count))
            return [try encoder.run(embedded, layers: 0..<lowerLayerCount, sequences: sequences)]
        }).first else { throw ModelError.invalidInput("the text forward returned no activation") }
        var result: [TextEncoding] = []
        var row = 0
        for windows in texts {
            let length = windows[0].ids.count, rows = bucketed(length, bucket)
            result.append(TextEncoding(hidden: hidden, rowStart: row, windowLength: length, rowsPerWindow: rows, masks: windows.map(\.attentionMask)))
            row += rows * windows.count
        }
        return result
    }

    /// The bucket the hints of `jobs` pad to: the backend's, unless the hint region (the hints, then
    /// every [window ; hint] pair) would then exceed the token limit of replayed forwards.
    func hintBucket(_ jobs: [(text: TextEncoding, hints: [[Int32]])]) -> Int {
        var paddedTokens = 0
        for job in jobs {
            for hint in job.hints {
                let rows = bucketed(hint.count, kernels.lengthBucket)
                paddedTokens += rows + job.text.windowCount * (job.text.rowsPerWindow + rows)
            }
        }
        return paddedTokens <= kernels.lengthBucketMaxTokens ? kernels.lengthBucket : 1
    }

    /// Pointer logits for each job's hints over each window of its text, [job][hint][window];
    /// every (hint, window) pair of every job runs in one packed batch.
    public func pointerLogits(_ jobs: [(text: TextEncoding, hints: [[Int32]])]) throws -> [[[PointerLogits]]] {
        let maxPositions = encoder.configuration.maxPositions
        for job in jobs {
            let lw = job.text.windowLength
            guard job.hints.allSatisfy({ !$0.isEmpty && lw + $0.count <= maxPositions }) else {
                throw ModelError.invalidInput("a hint of \(job.hints.map(\.count).max() ?? 0) tokens after a \(lw)-token window exceeds \(maxPositions) positions")
            }
        }
        let allHints = jobs.flatMap(\.hints)
        guard !allHints.isEmpty else { return jobs.map { _ in [] } }

        let bucket = hintBucket(jobs)

        // Lower layers over all hints at once (masked when bucket padding may follow a hint).
        // Hint positions continue after the window length of the hint's text.
        var hintIDs: [Int32] = [], hintPositions: [Int32] = [], hintMask: [UInt8] = [], hintRows: [Int] = []
        for job in jobs {
            for hint in job.hints {
                let rows = bucketed(hint.count, bucket), last = job.text.windowLength + hint.count - 1
                hintIDs += hint + [Int32](repeating: 0, count: rows - hint.count)
                hintPositions += (0..<hint.count).map { Int32(job.text.windowLength + $0) } + paddingPositions(after: last, count: rows - hint.count)
                hintMask += [UInt8](repeating: 1, count: hint.count) + [UInt8](repeating: 0, count: rows - hint.count)
                hintRows.append(rows)
            }
        }
        // With buckets on, always a mask: a replayed shape must issue the same ops whether or not this
        // call's hints needed padding.
        let hintSequences = PackedSequences(lengths: hintRows, keyMask: kernels.lengthBucket > 1 ? hintMask : nil)

        // Upper layers over every [window ; hint] pair (each with its padding, masked). Source 0 is
        // the hints; texts follow.
        var textSources: [K.Activations] = []
        var segments: [RowSegment] = [], lengths: [Int] = [], mask: [UInt8] = []
        var hintIndex = 0
        for job in jobs {
            let lw = job.text.windowLength, windowRows = job.text.rowsPerWindow
            textSources.append(job.text.hidden)
            let source = textSources.count
            for hint in job.hints {
                let rows = hintRows[hintIndex]
                for w in 0..<job.text.windowCount {
                    segments.append(RowSegment(source: source, start: job.text.rowStart + w * windowRows, count: windowRows))
                    segments.append(RowSegment(source: 0, start: hintSequences.offsets[hintIndex], count: rows))
                    lengths.append(windowRows + rows)
                    mask += job.text.masks[w].map { $0 == 0 ? 0 : 1 } + [UInt8](repeating: 0, count: windowRows - lw)
                    mask += hintMask[hintSequences.offsets[hintIndex]..<hintSequences.offsets[hintIndex + 1]]
                }
                hintIndex += 1
            }
        }
        let pairs = PackedSequences(lengths: lengths, keyMask: mask)

        // Heads on the text rows only (padding included; the host reads the first windowLength).
        var textRows: [RowSegment] = []
        var pair = 0
        for job in jobs {
            for _ in 0..<(job.hints.count * job.text.windowCount) {
                textRows.append(RowSegment(source: 0, start: pairs.offsets[pair], count: job.text.rowsPerWindow))
                pair += 1
            }
        }
        // The texts' encodings enter through gatherRows' staged row addresses, so a replay of this
        // region reads whichever texts the call passes. Its shape is the padded lengths.
        var shapeLengths: [Int] = [], firstHint = 0
        for job in jobs {
            shapeLengths += [job.text.rowsPerWindow, job.text.windowCount, job.hints.count] + hintRows[firstHint..<(firstHint + job.hints.count)]
            firstHint += job.hints.count
        }
        let shape = ForwardShape(region: "siamese.hints", lengths: shapeLengths, tokens: lengths.reduce(0, +) + hintIDs.count)
        guard let headOutput = try kernels.replayable(shape, {
            let hintHidden = try encoder.run(
                encoder.embed(ids: hintIDs, positions: hintPositions, tokenTypes: [Int32](repeating: 1, count: hintIDs.count)),
                layers: 0..<lowerLayerCount, sequences: hintSequences)
            let joined = try kernels.gatherRows([hintHidden] + textSources, segments: segments)
            let upper = try encoder.run(joined, layers: lowerLayerCount..<encoder.layerCount, sequences: pairs)
            return [try kernels.linear(kernels.gatherRows([upper], segments: textRows), pointerHeads, activation: .none, residual: nil)]
        }).first else { throw ModelError.invalidInput("the hint forward returned no activation") }
        let logits = try kernels.download(headOutput)
        var row = 0
        return jobs.map { job in
            job.hints.map { _ in
                (0..<job.text.windowCount).map { w in
                    let lw = job.text.windowLength
                    var head = [Float](repeating: 0, count: lw), tail = [Float](repeating: 0, count: lw)
                    for t in 0..<lw {
                        let padding: Float = job.text.masks[w][t] == 0 ? -10000 : 0
                        head[t] = logits[(row + t) * 2] + padding
                        tail[t] = logits[(row + t) * 2 + 1] + padding
                    }
                    row += job.text.rowsPerWindow
                    return PointerLogits(head: head, tail: tail)
                }
            }
        }
    }
}
