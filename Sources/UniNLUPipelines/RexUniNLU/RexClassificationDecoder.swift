import UniNLUCore

// Upstream `infer_cls_info_from_prediction` and `…_for_blank` (trainer.py). A label counts when its
// span is the classification marker itself (head = tail = the marker token c); its confidence is
// (σZ[c,c] + σZ[c,T] + σZ[T,c]) / 3 rounded to 4 places (upstream reads the probabilities transposed;
// for a one-token span the sum is the same). Thresholded pass: all three links must be > 0. Blank
// (handshake) pass: no thresholds, c is forced to the first text token — upstream's assumption that
// the marker comes first (`fixBlankFallbackMarker` uses the marker's real position instead).
//
// Results accumulate in `candidates`, keyed like upstream by the "[INFOKEY]"-joined label path.

struct RexClassificationCandidates {
    private(set) var keys: [String] = []
    private(set) var entries: [String: [[RexPathItem]]] = [:]

    mutating func append(_ key: String, _ path: [RexPathItem]) {
        if entries[key] == nil { keys.append(key) }
        entries[key, default: []].append(path)
    }

    var isEmpty: Bool { keys.isEmpty }
}

struct RexClassificationDecoder {
    let prompt: RexPrompt
    let level: RexLevel
    let legalPaths: Set<[String]>
    /// "[CLASSIFY]" or "[MULTICLASSIFY]".
    let marker: String
    let markerID: Int32
    let typeID: Int32
    /// Recognise the marker by token id instead of by the (upstream-rewritten) text under its offsets.
    let markerByID: Bool
    let fixBlankMarker: Bool

    func decode(_ window: RexWindow, _ z: RexTokenPairLogits, blank: Bool, next: inout RexLevel, candidates: inout RexClassificationCandidates) throws {
        let n = window.ids.count
        let nh = window.hintTokenCount
        guard z.count == n else { throw RexPipelineError.internalInconsistency("Z is \(z.count)x\(z.count) for \(n) tokens") }
        let typeTokens = try window.typeTokenIndices(prompt)

        // (head, tail) candidates in upstream order, with the span link's probability.
        var spans: [(head: Int, tail: Int)] = []
        if blank {
            let forced: Int?
            if fixBlankMarker {
                forced = (nh..<n).first { window.ids[$0] == markerID }
            } else {
                forced = nh < n ? nh : nil
            }
            guard let c = forced else { return }
            spans = [(c, c)]
        } else {
            for h in nh..<n {
                for t in h..<n where z[h, t] > 0 { spans.append((h, t)) }
            }
        }
        for (h, t) in spans {
            for (slot, typeSlot) in prompt.types.enumerated() {
                let tt = typeTokens[slot]
                if !blank && !(z[h, tt] > 0 && z[tt, t] > 0) { continue }
                guard let start = window.spanStart(head: h) else { continue }
                let end = window.offsets[t].end
                let isMarker = markerByID ? (h == t && window.ids[h] == markerID) : window.slice(start, end) == marker
                // With the window fix the inserted marker has no text under it; it still reads as the marker.
                let span = markerByID && isMarker ? marker : window.slice(start, end)
                // Upstream: probs[0, tail, head] + probs[0, [TYPE], head] + probs[0, tail, [TYPE]].
                let confidence = roundedMean(sigmoid(z[t, h]), sigmoid(z[tt, h]), sigmoid(z[t, tt]))
                let prefix = level.prefixes[typeSlot.entry]
                if let children = level.schemas[typeSlot.entry].children(of: typeSlot.label), !children.isEmpty {
                    next.insert(
                        prefix + [RexPrefixItem(type: typeSlot.label, span: span, start: start, end: end, confidence: confidence)],
                        schema: children)
                }
                guard isMarker else { continue }
                var path = prefix.filter { $0.span == marker }.map {
                    RexPathItem(type: pythonStrip($0.type), span: $0.span, start: $0.start, end: $0.end, confidence: $0.confidence)
                }
                path.append(RexPathItem(type: typeSlot.label, span: span, start: start, end: end, confidence: confidence))
                guard legalPaths.contains(path.map(\.type)) else { continue }
                candidates.append(path.map(\.type).joined(separator: "[INFOKEY]"), path)
            }
        }
    }
}
