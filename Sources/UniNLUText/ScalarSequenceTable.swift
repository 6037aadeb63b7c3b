/// An immutable open-addressing hash map from a sequence of Unicode scalar values to a token id. It is probed
/// with a slice of a scalar buffer and a precomputed hash, so WordPiece never builds a `String` per candidate.
///
/// Memory traffic is what costs here (the tables outgrow L2): each slot packs a hash fingerprint with the
/// entry index so a miss touches one cache line, and one-scalar BMP keys (every CJK ideograph, most Chinese
/// words) are answered from a direct array.
struct ScalarSequenceTable: Sendable {
    private let keyScalars: [UInt32]  // every key, concatenated
    private let entryStart: [Int32]
    private let entryLength: [Int32]
    private let entryID: [Int32]
    private let slots: [UInt64]  // (hash >> 32) << 32 | (entry + 1); 0 = empty
    private let mask: Int
    /// Id of the one-scalar key for each BMP code point, or -1.
    private let singleScalarIDs: [Int32]
    /// Length in scalars of the longest key: longer candidates cannot match.
    let maxKeyLength: Int

    /// Builds the table; a later duplicate key replaces the id of an earlier one (Python dict semantics, as
    /// transformers' `load_vocab`). Empty keys are skipped.
    init(keys: [(scalars: [UInt32], id: Int32)]) {
        var capacity = 16
        while capacity < keys.count * 2 { capacity <<= 1 }
        var slots = [UInt64](repeating: 0, count: capacity)
        var keyScalars: [UInt32] = []
        var entryStart: [Int32] = []
        var entryLength: [Int32] = []
        var entryID: [Int32] = []
        var singles = [Int32](repeating: -1, count: 0x10000)
        var maxKeyLength = 0
        for key in keys where !key.scalars.isEmpty {
            if key.scalars.count == 1 && key.scalars[0] < 0x10000 { singles[Int(key.scalars[0])] = key.id }
            var hash = Self.seed
            for scalar in key.scalars { hash = Self.step(hash, scalar) }
            var slot = Self.slot(hash, capacity - 1)
            var replaced = false
            while slots[slot] != 0 {
                let entry = Int(slots[slot] & 0xFFFF_FFFF) - 1
                let start = Int(entryStart[entry])
                if keyScalars[start..<(start + Int(entryLength[entry]))].elementsEqual(key.scalars) {
                    entryID[entry] = key.id
                    replaced = true
                    break
                }
                slot = (slot + 1) & (capacity - 1)
            }
            if replaced { continue }
            slots[slot] = (hash & 0xFFFF_FFFF_0000_0000) | UInt64(entryID.count + 1)
            entryStart.append(Int32(keyScalars.count))
            entryLength.append(Int32(key.scalars.count))
            entryID.append(key.id)
            keyScalars.append(contentsOf: key.scalars)
            maxKeyLength = max(maxKeyLength, key.scalars.count)
        }
        self.keyScalars = keyScalars
        self.entryStart = entryStart
        self.entryLength = entryLength
        self.entryID = entryID
        self.slots = slots
        self.mask = capacity - 1
        self.singleScalarIDs = singles
        self.maxKeyLength = maxKeyLength
    }

    // FNV-1a over 32-bit scalars: cheap to extend one scalar at a time (WordPiece hashes all prefixes of a
    // word in one pass). The slot index gets a final mix because FNV's low bits depend only on low input bits.
    static let seed: UInt64 = 0xcbf2_9ce4_8422_2325

    @inline(__always)
    static func step(_ hash: UInt64, _ scalar: UInt32) -> UInt64 {
        (hash ^ UInt64(scalar)) &* 0x0000_0100_0000_01B3
    }

    @inline(__always)
    private static func slot(_ hash: UInt64, _ mask: Int) -> Int {
        var mixed = hash ^ (hash >> 33)
        mixed = mixed &* 0xff51_afd7_ed55_8ccd
        mixed ^= mixed >> 33
        return Int(truncatingIfNeeded: mixed) & mask
    }

    /// The id of the key equal to `buffer[range]` (non-empty), whose hash (from `seed`/`step`) is `hash`.
    @inline(__always)
    func find(hash: UInt64, in buffer: UnsafeBufferPointer<UInt32>, _ range: Range<Int>) -> Int32? {
        if range.count == 1 && buffer[range.lowerBound] < 0x10000 {
            let id = singleScalarIDs[Int(buffer[range.lowerBound])]
            return id >= 0 ? id : nil
        }
        let fingerprint = hash & 0xFFFF_FFFF_0000_0000
        var slot = Self.slot(hash, mask)
        while true {
            let packed = slots[slot]
            if packed == 0 { return nil }
            if packed & 0xFFFF_FFFF_0000_0000 == fingerprint {
                let entry = Int(packed & 0xFFFF_FFFF) - 1
                if Int(entryLength[entry]) == range.count {
                    let start = Int(entryStart[entry])
                    var equal = true
                    for offset in 0..<range.count where keyScalars[start + offset] != buffer[range.lowerBound + offset] {
                        equal = false
                        break
                    }
                    if equal { return entryID[entry] }
                }
            }
            slot = (slot + 1) & mask
        }
    }

    /// Convenience lookup of a whole key.
    func find(_ scalars: [UInt32]) -> Int32? {
        if scalars.isEmpty { return nil }
        var hash = Self.seed
        for scalar in scalars { hash = Self.step(hash, scalar) }
        return scalars.withUnsafeBufferPointer { find(hash: hash, in: $0, 0..<scalars.count) }
    }
}
