/// Finds added/special tokens (`[CLS]`, `[SEP]`, `[PAD]`, `[UNK]`, `[MASK]`, Rex's `[PREFIX]` ...) in the raw
/// text, before any normalization: exact, case-sensitive, no lstrip/rstrip/single-word rules, leftmost-longest
/// like the aho-corasick matcher of HF's `AddedVocabulary` for tokens with `normalized: false`.
struct AddedTokenMatcher: Sendable {
    private struct Candidate: Sendable {
        var scalars: [UInt32]
        var id: Int32
    }

    /// Candidates by first scalar, longest first.
    private let candidates: [UInt32: [Candidate]]
    /// Bit i set when some token starts with ASCII scalar i: most scalars are rejected without hashing.
    private let asciiFirstLow: UInt64
    private let asciiFirstHigh: UInt64
    private let hasNonASCIIFirst: Bool

    init(tokens: [(content: String, id: Int32)]) {
        var byFirst: [UInt32: [Candidate]] = [:]
        var low: UInt64 = 0
        var high: UInt64 = 0
        var nonASCII = false
        for token in tokens {
            let scalars = token.content.unicodeScalars.map(\.value)
            guard let first = scalars.first else { continue }
            if byFirst[first, default: []].contains(where: { $0.scalars == scalars }) { continue }
            byFirst[first, default: []].append(Candidate(scalars: scalars, id: token.id))
            if first < 64 {
                low |= 1 << UInt64(first)
            } else if first < 128 {
                high |= 1 << UInt64(first - 64)
            } else {
                nonASCII = true
            }
        }
        candidates = byFirst.mapValues { list in list.sorted { $0.scalars.count > $1.scalars.count } }
        asciiFirstLow = low
        asciiFirstHigh = high
        hasNonASCIIFirst = nonASCII
    }

    /// The longest token that starts at `raw[position]`, if any.
    @inline(__always)
    func match(_ raw: UnsafeBufferPointer<UInt32>, at position: Int) -> (length: Int, id: Int32)? {
        let first = raw[position]
        if first < 64 {
            if asciiFirstLow & (1 << UInt64(first)) == 0 { return nil }
        } else if first < 128 {
            if asciiFirstHigh & (1 << UInt64(first - 64)) == 0 { return nil }
        } else if !hasNonASCIIFirst {
            return nil
        }
        guard let list = candidates[first] else { return nil }
        for candidate in list where position + candidate.scalars.count <= raw.count {
            var equal = true
            for offset in 1..<candidate.scalars.count where raw[position + offset] != candidate.scalars[offset] {
                equal = false
                break
            }
            if equal { return (candidate.scalars.count, candidate.id) }
        }
        return nil
    }
}
