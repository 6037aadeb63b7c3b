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
        // Per text token: the slots it heads (Z[h, [TYPE]] > 0), ascending = prompt order; per slot and
        // token: whether the [TYPE] links to it as a tail (Z[[TYPE], t] > 0). Candidate spans then only
        // visit the slots their head links to, instead of every slot.
        var slotsByHead = [[Int]](repeating: [], count: n)
        var tailLinked = [Bool](repeating: false, count: typeTokens.count * n)
        for (slot, tt) in typeTokens.enumerated() {
            for i in nh..<n {
                if z[i, tt] > 0 { slotsByHead[i].append(slot) }
                if z[tt, i] > 0 { tailLinked[slot * n + i] = true }
            }
        }
        var paths: [[RexPathItem]] = []
        for h in nh..<n where !slotsByHead[h].isEmpty {
            for t in h..<n where z[h, t] > 0 {
                for slot in slotsByHead[h] where tailLinked[slot * n + t] {
                    let typeSlot = prompt.types[slot]
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
