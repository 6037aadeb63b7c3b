/// What the BERT normalizer and pre-tokenizer need to know about one code point.
struct BertCharacterFlags: OptionSet, Sendable {
    let rawValue: UInt16

    /// Dropped by `clean_text` (NUL, U+FFFD, control/format/private-use chars except \t \n \r).
    static let removed = BertCharacterFlags(rawValue: 1 << 0)
    /// Mapped to U+0020 by `clean_text`.
    static let cleanWhitespace = BertCharacterFlags(rawValue: 1 << 1)
    /// A word boundary for BertPreTokenizer (dropped).
    static let splitWhitespace = BertCharacterFlags(rawValue: 1 << 2)
    /// Isolated as its own word by BertPreTokenizer.
    static let punctuation = BertCharacterFlags(rawValue: 1 << 3)
    /// Padded with spaces when `tokenize_chinese_chars` is on.
    static let chinese = BertCharacterFlags(rawValue: 1 << 4)
    /// Removed by strip-accents after NFD (Mn).
    static let nonspacingMark = BertCharacterFlags(rawValue: 1 << 5)
    /// Has a canonical decomposition (Hangul syllables included).
    static let decomposes = BertCharacterFlags(rawValue: 1 << 6)
    /// Has a lowercase mapping different from itself.
    static let lowercases = BertCharacterFlags(rawValue: 1 << 7)
    /// Canonical combining class is not 0.
    static let nonStarter = BertCharacterFlags(rawValue: 1 << 8)
}

/// Fast lookups over `BertCharacterTables`: a flag word per BMP code point (128 KiB, built once) and binary
/// search above it; decomposition and lowercase mappings in dictionaries pointing into flat arrays.
struct BertCharacterProperties: Sendable {
    /// Shared, immutable, built on first use (Swift initialises static lets exactly once, thread-safely).
    static let shared = BertCharacterProperties()

    private let bmpFlags: [UInt16]
    private let decompositionIndex: [UInt32: UInt32]  // code point -> (start << 8) | count into mappingValues
    private let lowercaseIndex: [UInt32: UInt32]
    private let mappingValues: [UInt32]
    private let combiningClasses: [UInt32: UInt8]

    private static let rangeTables: [(ranges: [UInt32], flag: BertCharacterFlags)] = [
        (BertCharacterTables.cleanRemovedRanges, .removed),
        (BertCharacterTables.cleanWhitespaceRanges, .cleanWhitespace),
        (BertCharacterTables.splitWhitespaceRanges, .splitWhitespace),
        (BertCharacterTables.punctuationRanges, .punctuation),
        (BertCharacterTables.chineseRanges, .chinese),
        (BertCharacterTables.nonspacingMarkRanges, .nonspacingMark),
    ]

    private init() {
        var flags = [UInt16](repeating: 0, count: 0x10000)
        for (ranges, flag) in Self.rangeTables {
            for pair in stride(from: 0, to: ranges.count, by: 2) where ranges[pair] < 0x10000 {
                for codePoint in ranges[pair]...min(ranges[pair + 1], 0xFFFF) {
                    flags[Int(codePoint)] |= flag.rawValue
                }
            }
        }
        var values: [UInt32] = []
        func index(_ records: [UInt32], flag: BertCharacterFlags) -> [UInt32: UInt32] {
            var result: [UInt32: UInt32] = [:]
            var position = 0
            while position < records.count {
                let codePoint = records[position]
                let count = Int(records[position + 1])
                result[codePoint] = UInt32(values.count) << 8 | UInt32(count)
                values.append(contentsOf: records[(position + 2)..<(position + 2 + count)])
                if codePoint < 0x10000 { flags[Int(codePoint)] |= flag.rawValue }
                position += 2 + count
            }
            return result
        }
        decompositionIndex = index(BertCharacterTables.decompositionMappings, flag: .decomposes)
        lowercaseIndex = index(BertCharacterTables.lowercaseMappings, flag: .lowercases)
        mappingValues = values
        var classes: [UInt32: UInt8] = [:]
        let pairs = BertCharacterTables.combiningClassPairs
        for pair in stride(from: 0, to: pairs.count, by: 2) {
            classes[pairs[pair]] = UInt8(pairs[pair + 1])
            if pairs[pair] < 0x10000 { flags[Int(pairs[pair])] |= BertCharacterFlags.nonStarter.rawValue }
        }
        combiningClasses = classes
        for syllable in Self.hangulFirst...Self.hangulLast {
            flags[Int(syllable)] |= BertCharacterFlags.decomposes.rawValue
        }
        // U+0020 maps to itself; leaving it unflagged keeps spaces on the normalizer's copy-through path.
        flags[0x20] &= ~BertCharacterFlags.cleanWhitespace.rawValue
        bmpFlags = flags
    }

    /// Runs `body` with the raw BMP flag words (index = code point), for hot loops.
    @inline(__always)
    func withBMPFlags<R>(_ body: (UnsafeBufferPointer<UInt16>) throws -> R) rethrows -> R {
        try bmpFlags.withUnsafeBufferPointer(body)
    }

    @inline(__always)
    func flags(_ codePoint: UInt32) -> BertCharacterFlags {
        if codePoint < 0x10000 { return BertCharacterFlags(rawValue: bmpFlags[Int(codePoint)]) }
        return supplementaryFlags(codePoint)
    }

    private func supplementaryFlags(_ codePoint: UInt32) -> BertCharacterFlags {
        var result: BertCharacterFlags = []
        for (ranges, flag) in Self.rangeTables where Self.contains(ranges, codePoint) {
            result.insert(flag)
        }
        if decompositionIndex[codePoint] != nil { result.insert(.decomposes) }
        if lowercaseIndex[codePoint] != nil { result.insert(.lowercases) }
        if combiningClasses[codePoint] != nil { result.insert(.nonStarter) }
        return result
    }

    /// Binary search in flattened closed ranges.
    private static func contains(_ ranges: [UInt32], _ codePoint: UInt32) -> Bool {
        var low = 0
        var high = ranges.count / 2
        while low < high {
            let middle = (low + high) / 2
            if ranges[2 * middle + 1] < codePoint {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low < ranges.count / 2 && ranges[2 * low] <= codePoint
    }

    func combiningClass(_ codePoint: UInt32) -> UInt8 {
        combiningClasses[codePoint] ?? 0
    }

    /// Calls `body` with each scalar of the full canonical decomposition (only for `.decomposes`).
    @inline(__always)
    func forEachDecomposed(_ codePoint: UInt32, _ body: (UInt32) -> Void) {
        if codePoint >= Self.hangulFirst && codePoint <= Self.hangulLast {
            // Hangul syllables decompose algorithmically into L V (T) jamo (Unicode 3.12).
            let index = codePoint - Self.hangulFirst
            body(0x1100 + index / 588)
            body(0x1161 + (index % 588) / 28)
            if index % 28 != 0 { body(0x11A7 + index % 28) }
            return
        }
        guard let packed = decompositionIndex[codePoint] else { return body(codePoint) }
        let start = Int(packed >> 8)
        for position in start..<(start + Int(packed & 0xFF)) { body(mappingValues[position]) }
    }

    /// Calls `body` with each scalar of the lowercase mapping (only for `.lowercases`).
    @inline(__always)
    func forEachLowercased(_ codePoint: UInt32, _ body: (UInt32) -> Void) {
        guard let packed = lowercaseIndex[codePoint] else { return body(codePoint) }
        let start = Int(packed >> 8)
        for position in start..<(start + Int(packed & 0xFF)) { body(mappingValues[position]) }
    }

    private static let hangulFirst: UInt32 = 0xAC00
    private static let hangulLast: UInt32 = 0xAC00 + 11172 - 1
}
