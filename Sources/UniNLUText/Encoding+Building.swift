extension Encoding {
    /// One part of a template: special-token ids (offset (0, 0)) or a slice of a tokenized text.
    enum TemplatePart {
        case specials(ArraySlice<Int32>)
        case text(TokenizedText, Range<Int>)

        var count: Int {
            switch self {
            case .specials(let ids): return ids.count
            case .text(_, let range): return range.count
            }
        }
    }

    /// Builds an encoding from template parts (`[CLS]`, A, `[SEP]`, B, `[SEP]`), each with its type id; every
    /// array is sized once, which matters because this runs for every request.
    init(assembling parts: [TemplatePart], typeIDs: [Int32], tokenStrings: [String]) {
        let count = parts.reduce(0) { $0 + $1.count }
        var ids: [Int32] = []
        var offsets: [TokenOffset] = []
        var typeIds: [Int32] = []
        ids.reserveCapacity(count)
        offsets.reserveCapacity(count)
        typeIds.reserveCapacity(count)
        for (part, typeID) in zip(parts, typeIDs) {
            switch part {
            case .specials(let specialIDs):
                ids.append(contentsOf: specialIDs)
                offsets.append(contentsOf: repeatElement(TokenOffset.none, count: specialIDs.count))
            case .text(let text, let range):
                ids.append(contentsOf: text.ids[range])
                offsets.append(contentsOf: text.offsets[range])
            }
            typeIds.append(contentsOf: repeatElement(typeID, count: part.count))
        }
        self.init(
            ids: ids, tokens: ids.map { tokenStrings[Int($0)] }, offsets: offsets, typeIds: typeIds,
            attentionMask: [Int32](repeating: 1, count: count))
    }

    /// Appends `count` padding tokens: `[PAD]`, offset (0, 0), type 0, mask 0.
    mutating func pad(count: Int, id: Int32, token: String) {
        ids.append(contentsOf: repeatElement(id, count: count))
        tokens.append(contentsOf: repeatElement(token, count: count))
        offsets.append(contentsOf: repeatElement(.none, count: count))
        typeIds.append(contentsOf: repeatElement(0, count: count))
        attentionMask.append(contentsOf: repeatElement(0, count: count))
    }
}
