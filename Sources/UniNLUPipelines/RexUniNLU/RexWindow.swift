import Foundation
import UniNLUCore
import UniNLUText

// One model input of a prompt and a text chunk as the decoder sees it: ids (possibly with upstream's
// inserted classification marker), code-point offsets, the number of prompt-side tokens (type id 0:
// [CLS] prompt [SEP]) and the text the offsets point into (upstream rewrites it for classification).

struct RexWindow: Sendable {
    var ids: [Int32]
    var offsets: [TokenOffset]
    var hintTokenCount: Int
    var text: [Unicode.Scalar]

    /// Python `text[a:b]`: empty when `a >= b`, clamped to the text.
    func slice(_ start: Int, _ end: Int) -> String {
        let a = min(max(start, 0), text.count), b = min(max(end, 0), text.count)
        guard a < b else { return "" }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: text[a..<b])
        return String(view)
    }

    /// Token index of each `[TYPE]` slot of the prompt (upstream maps the marker's char index through the
    /// prompt-side offsets; the last token starting at a char index wins, as in its dict).
    func typeTokenIndices(_ prompt: RexPrompt) throws -> [Int] {
        var tokenAt: [Int: Int] = [:]
        for i in 0..<min(hintTokenCount, offsets.count) { tokenAt[offsets[i].start] = i }
        return try prompt.types.map { slot in
            guard let token = tokenAt[slot.charIndex] else {
                throw RexPipelineError.internalInconsistency("no prompt token starts at [TYPE] of \"\(slot.label)\"")
            }
            return token
        }
    }

    /// Upstream's span start: the head token's start, moved past ASCII spaces; nil where Python's
    /// `text[char_head]` would raise (the decoder then skips the candidate, as upstream's `except`).
    func spanStart(head: Int) -> Int? {
        var start = offsets[head].start
        while true {
            guard start >= 0, start < text.count else { return nil }
            if text[start] != " " { return start }
            start += 1
        }
    }
}

@inline(__always)
func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

/// Upstream's `round((a + b + c) / 3, 4)` on float32 probabilities (the mean in float32, rounding in Double).
func roundedMean(_ a: Float, _ b: Float, _ c: Float) -> Double {
    let mean = (a + b + c) / 3
    return roundedToFourPlaces(Double(mean))
}

/// Python `round(x, 4)`: the double nearest to the correctly rounded decimal.
func roundedToFourPlaces(_ x: Double) -> Double {
    Double(String(format: "%.4f", x)) ?? x
}
