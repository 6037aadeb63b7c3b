/// HF `BertNormalizer` (tokenizers 0.13.3) with alignment tracking, in its order of steps:
/// 1. clean_text: drop U+0000, U+FFFD and control/format chars; map whitespace (\t \n \r too) to U+0020;
/// 2. handle_chinese_chars: CJK ideograph `c` becomes ` c `;
/// 3. strip accents (when `strip_accents`, or when it is unset and lowercasing): NFD, then drop Mn;
/// 4. lowercase: per-char full lowercase mapping (no context: final sigma is not special).
/// Note the order: accents are stripped *before* lowercasing (the reverse of the slow Python tokenizer).
///
/// Origins follow HF's `NormalizedString::transform`: a char that replaces an input char takes that char's
/// origin, an inserted char (` ` around CJK, 2nd+ char of a decomposition or of a lowercase mapping) takes the
/// origin of the last replaced char, a removed char leaves nothing. NFD reorders combining marks, and the
/// "replacing" output chars consume input origins in input order, not in the order of the marks they carry;
/// this matters only for offsets of words with reordered marks, but it is what HF reports.
struct BertNormalizer: Sendable {
    let handleChineseChars: Bool
    let stripAccents: Bool
    let lowercase: Bool
    private let properties = BertCharacterProperties.shared
    /// Flags that send a char down the general path; anything else is copied through unchanged.
    private let slowFlags: UInt16

    /// Upper bound of output scalars per input scalar: 3 for a padded ideograph, or the longest
    /// decomposition (4) times the longest lowercase mapping (2).
    static let maxExpansion = 8

    init(configuration: BertTokenizerConfiguration) {
        handleChineseChars = configuration.tokenizeChineseChars
        stripAccents = configuration.stripsAccents
        lowercase = configuration.doLowerCase
        var slow: BertCharacterFlags = [.removed, .cleanWhitespace]
        if handleChineseChars { slow.insert(.chinese) }
        if stripAccents { slow.formUnion([.decomposes, .nonStarter, .nonspacingMark]) }
        if lowercase { slow.insert(.lowercases) }
        slowFlags = slow.rawValue
    }

    /// Normalizes `raw[range]` into `output` (which must have `maxExpansion * range.count` slots); origins are
    /// indices into `raw`.
    func normalize(_ raw: UnsafeBufferPointer<UInt32>, _ range: Range<Int>, into output: inout NormalizedText) {
        properties.withBMPFlags { bmp in
            for index in range {
                let scalar = raw[index]
                let origin = Int32(truncatingIfNeeded: index)
                let flags = scalar < 0x10000 ? bmp[Int(scalar)] : properties.flags(scalar).rawValue
                if flags & slowFlags == 0 {
                    // Unchanged by every step, and a starter: it closes any run of marks before it.
                    if !output.pendingBlock.isEmpty { flushBlock(into: &output) }
                    output.lastOrigin = origin
                    output.append(scalar, origin: origin)
                    continue
                }
                let known = BertCharacterFlags(rawValue: flags)
                if flags & slowFlags == BertCharacterFlags.chinese.rawValue {
                    // A plain ideograph (no decomposition or case): ` c `, all three from the same origin.
                    if !output.pendingBlock.isEmpty { flushBlock(into: &output) }
                    output.lastOrigin = origin
                    output.append(0x20, origin: origin)
                    output.append(scalar, origin: origin)
                    output.append(0x20, origin: origin)
                    continue
                }
                if known.contains(.removed) { continue }
                if known.contains(.cleanWhitespace) {
                    enterNFD(0x20, origin: origin, into: &output)
                } else if handleChineseChars && known.contains(.chinese) {
                    enterNFD(0x20, origin: origin, into: &output)
                    enterNFD(scalar, origin: origin, into: &output)
                    enterNFD(0x20, origin: origin, into: &output)
                } else {
                    enterNFD(scalar, origin: origin, into: &output)
                }
            }
        }
        if !output.pendingBlock.isEmpty { flushBlock(into: &output) }
    }

    /// Step 3 input: one char (with the origin of the char it replaces) after clean_text and CJK padding.
    ///
    /// Mirrors the crate's `Decompositions` iterator: each char decomposes into scalars tagged "replaces"
    /// (the first) or "inserted" (the rest); a starter (combining class 0) closes the run of marks before it,
    /// which is stable-sorted by combining class and emitted. A starter itself never moves, so it is emitted
    /// at once; only marks wait in `pendingBlock`. `pendingOrigins` queues the origins of input chars whose
    /// "replaces" scalar has not been emitted yet: HF's transform hands them out in emission order.
    private func enterNFD(_ scalar: UInt32, origin: Int32, into output: inout NormalizedText) {
        guard stripAccents else {
            // Without NFD every later step maps chars one-to-many in place: the origin passes through.
            return enterLowercase(scalar, origin: origin, into: &output)
        }
        let flags = properties.flags(scalar)
        if !flags.contains(.decomposes) && !flags.contains(.nonStarter) {
            // A starter that is its own decomposition (Mn with class 0 exist, e.g. U+0941).
            if !output.pendingBlock.isEmpty { flushBlock(into: &output) }
            output.lastOrigin = origin
            if flags.contains(.nonspacingMark) { return }
            return enterLowercase(scalar, origin: origin, into: &output)
        }
        output.pendingOrigins.append(origin)
        if !flags.contains(.decomposes) {
            return pushDecomposed(scalar, inserted: false, into: &output)
        }
        var first = true
        properties.forEachDecomposed(scalar) { part in
            pushDecomposed(part, inserted: !first, into: &output)
            first = false
        }
    }

    private func pushDecomposed(_ scalar: UInt32, inserted: Bool, into output: inout NormalizedText) {
        let combiningClass = properties.flags(scalar).contains(.nonStarter) ? properties.combiningClass(scalar) : 0
        if combiningClass == 0 {
            if !output.pendingBlock.isEmpty { flushBlock(into: &output) }
            emitDecomposed(scalar, inserted: inserted, into: &output)
        } else {
            output.pendingBlock.append((combiningClass, scalar, inserted))
        }
    }

    /// Stable-sorts the waiting marks by combining class and emits them.
    private func flushBlock(into output: inout NormalizedText) {
        let count = output.pendingBlock.count
        // Insertion sort: runs of marks are short, and it is stable.
        for position in 1..<count {
            let item = output.pendingBlock[position]
            var target = position
            while target > 0 && output.pendingBlock[target - 1].combiningClass > item.combiningClass {
                output.pendingBlock[target] = output.pendingBlock[target - 1]
                target -= 1
            }
            output.pendingBlock[target] = item
        }
        for position in 0..<count {
            let item = output.pendingBlock[position]
            emitDecomposed(item.scalar, inserted: item.inserted, into: &output)
        }
        output.pendingBlock.removeAll(keepingCapacity: true)
    }

    /// Assigns the transform origin, drops nonspacing marks, then lowercases.
    private func emitDecomposed(_ scalar: UInt32, inserted: Bool, into output: inout NormalizedText) {
        let origin: Int32
        if inserted {
            origin = output.lastOrigin
        } else {
            origin = output.pendingOrigins[output.pendingOriginsHead]
            output.pendingOriginsHead += 1
            if output.pendingOriginsHead == output.pendingOrigins.count {
                output.pendingOrigins.removeAll(keepingCapacity: true)
                output.pendingOriginsHead = 0
            }
            output.lastOrigin = origin
        }
        if properties.flags(scalar).contains(.nonspacingMark) { return }
        enterLowercase(scalar, origin: origin, into: &output)
    }

    /// Step 4, then append to the output.
    private func enterLowercase(_ scalar: UInt32, origin: Int32, into output: inout NormalizedText) {
        if lowercase && properties.flags(scalar).contains(.lowercases) {
            properties.forEachLowercased(scalar) { part in output.append(part, origin: origin) }
        } else {
            output.append(scalar, origin: origin)
        }
    }
}
