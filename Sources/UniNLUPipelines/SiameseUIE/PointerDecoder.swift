import UniNLUText

// Window merging and span decoding, as upstream `get_entities` and the merge loop
// (siamese_uie_pipeline.py L210-285). Merging is done in Double because upstream averages Python
// floats; the -1 sentinel is upstream's too (a first-window logit of exactly -1.0 is overwritten
// rather than averaged there, and here).

enum PointerDecoder {
    /// Merges per-window logits into one value per text token.
    static func merge(windows: [[Float]], shifts: [Int], tokenCount: Int) -> [Double] {
        var merged = [Double](repeating: -1, count: tokenCount)
        for (w, values) in windows.enumerated() {
            let shift = shifts[w]
            for j in 0..<values.count where j + shift < tokenCount {
                let value = Double(values[j])
                merged[j + shift] = merged[j + shift] == -1 ? value : (merged[j + shift] + value) / 2
            }
        }
        return merged
    }

    struct Span: Equatable {
        var start: Int
        var end: Int
    }

    /// Each head above the threshold is paired with the first tail above it at or after the head.
    /// [CLS]/[SEP] positions (offset (0,0)) take part, as upstream, and may give empty spans.
    static func decode(head: [Double], tail: [Double], offsets: [TokenOffset], threshold: Double) -> [Span] {
        var spans: [Span] = []
        for h in head.indices where head[h] > threshold {
            if let t = (h..<tail.count).first(where: { tail[$0] > threshold }) {
                spans.append(Span(start: offsets[h].start, end: offsets[t].end))
            }
        }
        // Python sorts by the (start, end) tuple; the sort is stable.
        return spans.enumerated().sorted { a, b in
            (a.element.start, a.element.end, a.offset) < (b.element.start, b.element.end, b.offset)
        }.map(\.element)
    }
}
