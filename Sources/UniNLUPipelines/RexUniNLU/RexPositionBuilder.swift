// Upstream `build_position_ids_attn_mask` (position_id_utils.py): [CLS] = 0; every [PREFIX] block
// restarts at 1; every [TYPE] block of a prefix restarts right after that prefix's string; the text
// (both [SEP]s included) continues after the largest prompt position. The 2-D mask hides other prefix
// blocks from a prefix block and sibling types from a type block; text rows see everything.
//
// Upstream quirk kept by default: segments are found by scanning for marker ids anywhere, so a literal
// [TYPE] in the user text opens a type block of the last prefix (its tokens get prompt positions and
// are hidden from the sibling types), and positions are assigned in segment order, not token order.

struct RexPositionBuilder {
    let clsID: Int32
    let sepID: Int32
    let prefixID: Int32
    let typeID: Int32
    /// Treat every token after the first [SEP] as text (`RexUniNLUOptions.fixMarkersInText`).
    let markersInTextAreText: Bool

    private struct PrefixSegment {
        var span: [Int]
        var types: [[Int]] = []
    }

    func build(ids: [Int32]) throws -> (positions: [Int32], mask: [UInt8]) {
        let n = ids.count
        guard n >= 2, ids[0] == clsID, ids[1] == prefixID else {
            throw RexPipelineError.internalInconsistency("a Rex model input must start with [CLS] [PREFIX]")
        }
        var text: [Int] = []
        var prefixes: [PrefixSegment] = []
        var previous = clsID
        var inText = false
        for i in 1..<n {
            let t = ids[i]
            if inText && markersInTextAreText {
                text.append(i)
            } else if t == prefixID {
                if inText { throw RexInputError.prefixMarkerInText }
                prefixes.append(PrefixSegment(span: [i]))
                previous = t
            } else if t == typeID {
                prefixes[prefixes.count - 1].types.append([i])
                previous = t
            } else if t == sepID {
                text.append(i)
                previous = t
                inText = true
            } else if previous == prefixID {
                prefixes[prefixes.count - 1].span.append(i)
            } else if previous == typeID {
                let p = prefixes.count - 1
                prefixes[p].types[prefixes[p].types.count - 1].append(i)
            } else {
                text.append(i)
            }
        }
        guard prefixes.allSatisfy({ !$0.types.isEmpty }) else {
            throw RexPipelineError.internalInconsistency("a [PREFIX] block without [TYPE]")
        }
        var positions: [Int32] = [0]
        positions.reserveCapacity(n)
        for prefix in prefixes {
            let length = prefix.span.count
            positions += (1..<(1 + length)).map(Int32.init)
            for type in prefix.types {
                positions += ((1 + length)..<(1 + length + type.count)).map(Int32.init)
            }
        }
        let top = positions.max() ?? 0
        positions += (0..<text.count).map { top + 1 + Int32($0) }
        guard positions.count == n else { throw RexPipelineError.internalInconsistency("position ids cover \(positions.count) of \(n) tokens") }

        var mask = [UInt8](repeating: 1, count: n * n)
        func clear(rows: ClosedRange<Int>, columns: ClosedRange<Int>) {
            for r in rows { for c in columns { mask[r * n + c] = 0 } }
        }
        // A block runs from its [PREFIX] to the last token of its last type.
        func blockEnd(_ p: PrefixSegment) -> Int { p.types[p.types.count - 1][p.types[p.types.count - 1].count - 1] }
        for (i, a) in prefixes.enumerated() {
            for (j, b) in prefixes.enumerated() where i != j {
                clear(rows: a.span[0]...blockEnd(a), columns: b.span[0]...blockEnd(b))
            }
        }
        for prefix in prefixes {
            for (j, a) in prefix.types.enumerated() {
                for (k, b) in prefix.types.enumerated() where j != k {
                    clear(rows: a[0]...a[a.count - 1], columns: b[0]...b[b.count - 1])
                }
            }
        }
        return (positions, mask)
    }
}
