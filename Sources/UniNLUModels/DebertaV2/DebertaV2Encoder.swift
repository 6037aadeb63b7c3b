import UniNLUCheckpoint
import UniNLUCore

// The DeBERTa-v2 encoder as RexUniNLU runs it (upstream `DebertaV2Model2dAttnMask`), written once
// against `DebertaKernels` (EncoderKernels + the DeBERTa ops):
//   E = LN(word[id])                                   (no absolute position / token-type embedding)
//   layer: a = LN(h + Wo·attn_disentangled(Wqkv·h))    (c2p + p2c over custom position ids, 2-D mask)
//          h = LN(a + W2·gelu(W1·a))
//   after layer 0: h = LN_conv(h + gelu(conv1d(E)))    (the conv reads the embeddings, token order)
// The relative embeddings are LayerNorm-ed and projected by each layer's shared query/key weights
// once at load time: they do not depend on the input.

public struct DebertaV2Layer<K: DebertaKernels> {
    let qkv: K.Linear
    let attentionOutput: K.Linear
    let attentionNorm: K.Norm
    let intermediate: K.Linear
    let output: K.Linear
    let outputNorm: K.Norm
    /// `[Qr | Kr | Vr]` of the normalised relative embeddings (2·span rows); Vr is unused.
    let positionProjections: K.Activations
}

public final class DebertaV2Encoder<K: DebertaKernels> {
    public let configuration: DebertaV2Configuration
    public let kernels: K
    let wordEmbeddings: K.EmbeddingTable
    let embeddingNorm: K.Norm
    let layers: [DebertaV2Layer<K>]
    let convolution: (conv: K.Convolution, norm: K.Norm)?
    /// Rows of the word-embedding table (RexUniNLU: vocab_size + its 4 prompt markers).
    public let wordEmbeddingRows: Int

    init(configuration: DebertaV2Configuration, kernels: K, wordEmbeddings: K.EmbeddingTable, wordEmbeddingRows: Int,
         embeddingNorm: K.Norm, layers: [DebertaV2Layer<K>], convolution: (conv: K.Convolution, norm: K.Norm)?) {
        self.configuration = configuration
        self.kernels = kernels
        self.wordEmbeddings = wordEmbeddings
        self.wordEmbeddingRows = wordEmbeddingRows
        self.embeddingNorm = embeddingNorm
        self.layers = layers
        self.convolution = convolution
    }

    /// The attention layout of one forward: the 2-D masks, the row position ids and the relative row of
    /// every distance they make (`RelativePositionMode.row`, computed once per distance; the table's
    /// reach extended to `DisentangledAttentionLayout.bucketedReach` of `reachMultiple`).
    public func attentionLayout(positions: [Int32], sequences: PackedSequences, masks: [UInt8], reachMultiple: Int = 1) throws -> DisentangledAttentionLayout {
        let mode = configuration.relativePositionMode
        let span = configuration.attentionSpan
        return try DisentangledAttentionLayout(
            sequences: sequences, mask: masks, positions: positions, relativeRows: 2 * span, reachMultiple: reachMultiple
        ) { mode.row(query: $0, key: 0, span: span) }
    }

    /// The last layer's hidden states of packed sequences. `masks` holds each sequence's n x n 2-D mask.
    ///
    /// `realLengths` (one per sequence, at most its length): the rows after a sequence's real length
    /// are padding (replayable shapes of bucketed lengths). No token may attend to them (their mask
    /// columns are zero), they do not border the real tokens in the convolution after layer 0 (as
    /// upstream's zeroed padding embeddings do not), and their outputs are never meaningful.
    /// `reachMultiple` rounds the relative-distance table (see `attentionLayout`).
    public func encode(ids: [Int32], positions: [Int32], sequences: PackedSequences, masks: [UInt8], realLengths: [Int]? = nil,
                       reachMultiple: Int = 1) throws -> K.Activations {
        guard ids.count == sequences.totalRows, positions.count == ids.count else {
            throw ModelError.invalidInput("\(ids.count) ids and \(positions.count) positions for \(sequences.totalRows) packed rows")
        }
        let real = realLengths ?? (0..<sequences.count).map(sequences.length(of:))
        guard real.count == sequences.count, zip(real, 0..<sequences.count).allSatisfy({ $0 >= 1 && $0 <= sequences.length(of: $1) }) else {
            throw ModelError.invalidInput("\(real.count) real lengths for \(sequences.count) sequences (each 1 up to its padded length)")
        }
        if let bad = ids.first(where: { $0 < 0 || Int($0) >= wordEmbeddingRows }) {
            throw ModelError.invalidInput("token id \(bad) outside the \(wordEmbeddingRows)-row embedding table")
        }
        let layout = try attentionLayout(positions: positions, sequences: sequences, masks: masks, reachMultiple: reachMultiple)
        HostTrace.mark("attention layout built")
        // Upstream multiplies the conv output by `attention_mask.sum(-2) > 0`; we implement the case where
        // every token is attended by someone (true of every Rex prompt, whose text rows see everything).
        // One row-major pass a sequence (OR of the rows), not a strided walk per column: at 128 x 128
        // tokens the mask is 2 MB.
        var attended: [UInt8] = []
        for s in 0..<sequences.count {
            let n = sequences.length(of: s)
            let base = layout.matrixOffsets[s]
            attended.removeAll(keepingCapacity: true)
            attended.append(contentsOf: repeatElement(0, count: n))
            masks.withUnsafeBytes { all in
                attended.withUnsafeMutableBytes { columns in
                    // Eight columns at a time (a byte loop ran at ~1 byte/ns here), then the rest.
                    let words = n / 8
                    for i in 0..<n {
                        let row = base + i * n
                        for w in 0..<words {
                            let offset = 8 * w
                            let merged = columns.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                                | all.loadUnaligned(fromByteOffset: row + offset, as: UInt64.self)
                            columns.storeBytes(of: merged, toByteOffset: offset, as: UInt64.self)
                        }
                        for j in (8 * words)..<n { columns[j] |= all[row + j] }
                    }
                }
            }
            if let j = attended[..<real[s]].firstIndex(of: 0) {
                throw ModelError.invalidInput("token \(j) of sequence \(s) is attended by no token (2-D mask column of zeros)")
            }
            if let j = attended[real[s]...].firstIndex(where: { $0 != 0 }) {
                throw ModelError.invalidInput("padding row \(j) of sequence \(s) is attended by a token (its 2-D mask column must be zero)")
            }
        }
        // The convolution sees each sequence's real rows alone; a padding run is a sequence of its own.
        let convolutionSequences = realLengths == nil ? sequences : PackedSequences(lengths: (0..<sequences.count).flatMap { s in
            let padding = sequences.length(of: s) - real[s]
            return padding > 0 ? [real[s], padding] : [real[s]]
        })
        HostTrace.mark("mask columns checked")
        let embedded = try kernels.embed(tables: [wordEmbeddings], ids: [ids], norm: embeddingNorm)
        var hidden = embedded
        let heads = configuration.headCount
        for (index, layer) in layers.enumerated() {
            let qkv = try kernels.linear(hidden, layer.qkv, activation: .none, residual: nil)
            let context = try kernels.disentangledAttention(
                qkv: qkv, positionProjections: layer.positionProjections, layout: layout, heads: heads, headSize: configuration.headSize)
            let attended = try kernels.linearResidualNorm(context, layer.attentionOutput, residual: hidden, layer.attentionNorm)
            let intermediate = try kernels.linear(attended, layer.intermediate, activation: .gelu, residual: nil)
            hidden = try kernels.linearResidualNorm(intermediate, layer.output, residual: attended, layer.outputNorm)
            if index == 0, let convolution {
                hidden = try kernels.layerNorm(
                    kernels.convolution(embedded, convolution.conv, sequences: convolutionSequences, activation: .gelu, residual: hidden),
                    convolution.norm)
            }
        }
        return hidden
    }
}

extension DebertaV2Encoder {
    /// Loads the encoder under `root` ("plm" in RexUniNLU). `extraWordEmbeddingRows` are rows appended to
    /// the vocabulary after the config was written (RexUniNLU resizes by its 4 prompt markers).
    public static func load(
        configuration: DebertaV2Configuration, kernels: K, store: TensorStore, root: String, extraWordEmbeddingRows: Int = 0
    ) throws -> DebertaV2Encoder<K> {
        try configuration.validate()
        let c = configuration
        let h = c.hiddenSize
        let names = DebertaV2WeightNames.Globals(root: root)
        func norm(_ base: String) throws -> K.Norm {
            try kernels.loadNorm(base, width: h, epsilon: c.layerNormEpsilon, from: store)
        }
        func linear(_ base: String, out: Int, in inFeatures: Int) throws -> K.Linear {
            try kernels.loadLinear(base, out: out, in: inFeatures, from: store)
        }
        let rows = c.vocabularySize + extraWordEmbeddingRows
        let word = try kernels.makeEmbeddingTable(store.take(names.wordEmbeddings, shape: [rows, h]), rows: rows, width: h)
        let embeddingNorm = try norm(names.embeddingNorm)

        // LN(rel_embeddings) as an activation: an embedding lookup of every row through the encoder's LayerNorm.
        let relativeRows = 2 * c.attentionSpan
        let relativeTable = try kernels.makeEmbeddingTable(
            store.take(names.relativeEmbeddings, shape: [relativeRows, h]), rows: relativeRows, width: h)
        let relative = try kernels.embed(
            tables: [relativeTable], ids: [(0..<relativeRows).map(Int32.init)], norm: norm(names.relativeNorm))

        var layers: [DebertaV2Layer<K>] = []
        for i in 0..<c.layerCount {
            let n = DebertaV2WeightNames.Layer(root: root, layer: i)
            let qkv = try kernels.loadFusedQKV(query: n.query, key: n.key, value: n.value, width: h, from: store)
            layers.append(DebertaV2Layer<K>(
                qkv: qkv,
                attentionOutput: try linear(n.attentionOutput, out: h, in: h),
                attentionNorm: try norm(n.attentionNorm),
                intermediate: try linear(n.intermediate, out: c.intermediateSize, in: h),
                output: try linear(n.output, out: h, in: c.intermediateSize),
                outputNorm: try norm(n.outputNorm),
                positionProjections: try kernels.linear(relative, qkv, activation: .none, residual: nil)))
        }
        var convolution: (conv: K.Convolution, norm: K.Norm)?
        if c.convolutionKernelSize > 0 {
            let k = c.convolutionKernelSize
            convolution = (
                try kernels.makeConvolution(
                    weight: store.take("\(names.convolution).weight", shape: [h, h, k]),
                    bias: store.take("\(names.convolution).bias", shape: [h]), outChannels: h, inChannels: h, kernelSize: k),
                try norm(names.convolutionNorm))
        }
        return DebertaV2Encoder(
            configuration: c, kernels: kernels, wordEmbeddings: word, wordEmbeddingRows: rows, embeddingNorm: embeddingNorm,
            layers: layers, convolution: convolution)
    }
}
