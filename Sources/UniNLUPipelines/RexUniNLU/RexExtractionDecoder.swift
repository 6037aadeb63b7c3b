import UniNLUCore

// Upstream `infer_info_from_prediction` (trainer.py): a span (head h ≤ tail t, both on the text side,
// the final [SEP] included) is emitted for a type when Z[h,t] > 0, Z[h,[TYPE]] > 0 and Z[[TYPE],t] > 0.
// Order: spans row-major (head, then tail), then types in prompt order. Only complete root-to-leaf
// paths are output; every span whose label has a sub-schema becomes a prefix of the next level.

struct RexExtractionDecoder {
    let prompt: RexPrompt
    let level: RexLevel
    let legalPaths: Set<[String]>
    let includeScores: Bool

    func decode(_ window: RexWindow, _ z: RexTokenPairLogits, next: inout RexLevel) throws -> [[RexPathItem]] {
        let n = window.ids.count
        let nh = window.hintTokenCount
        guard z.count == n else { throw RexPipelineError.internalInconsistency("Z is \(z.count)x\(z.count) for \(n) tokens") }
        let typeTokens = try window.typeTokenIndices(prompt)
        // head→type and type→tail links of each slot.
        var heads = [Set<Int>](repeating: [], count: typeTokens.count)
        var tails = [Set<Int>](repeating: [], count: typeTokens.count)
        for (slot, t) in typeTokens.enumerated() {
            for i in nh..<n {
                if z[i, t] > 0 { heads[slot].insert(i) }
                if z[t, i] > 0 { tails[slot].insert(i) }
            }
        }
        var paths: [[RexPathItem]] = []
        for h in nh..<n {
            for t in h..<n where z[h, t] > 0 {
                for (slot, typeSlot) in prompt.types.enumerated() where heads[slot].contains(h) && tails[slot].contains(t) {
                    guard let start = window.spanStart(head: h) else { continue }
                    let end = window.offsets[t].end
                    let span = window.slice(start, end)
                    let prefix = level.prefixes[typeSlot.entry]
                    if let children = level.schemas[typeSlot.entry].children(of: typeSlot.label), !children.isEmpty {
                        next.insert(prefix + [RexPrefixItem(type: typeSlot.label, span: span, start: start, end: end)], schema: children)
                    }
                    var path = prefix.map { RexPathItem(type: pythonStrip($0.type), span: $0.span, start: $0.start, end: $0.end) }
                    var leaf = RexPathItem(type: typeSlot.label, span: span, start: start, end: end)
                    if includeScores {
                        let tt = typeTokens[slot]
                        leaf.score = roundedMean(sigmoid(z[h, t]), sigmoid(z[h, tt]), sigmoid(z[tt, t]))
                    }
                    path.append(leaf)
                    if legalPaths.contains(path.map(\.type)) { paths.append(path) }
                }
            }
        }
        return paths
    }
}
