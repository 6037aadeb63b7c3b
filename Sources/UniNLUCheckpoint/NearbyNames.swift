// Suggestions for a tensor name that is not in a checkpoint. Names are dotted module paths, and
// the usual mismatches are a different prefix ("bert." vs "plm.") or a different layer number,
// so candidates are ranked by how many trailing and then leading path components they share.

enum NearbyNames {
    static func find(_ name: String, in candidates: [String], limit: Int = 3) -> [String] {
        let parts = name.split(separator: ".")
        var scored: [(score: Int, name: String)] = []
        for candidate in candidates where candidate != name {
            let other = candidate.split(separator: ".")
            let suffix = zip(parts.reversed(), other.reversed()).prefix { $0 == $1 }.count
            let prefix = zip(parts, other).prefix { $0 == $1 }.count
            // Trailing components (".attention.self.query.weight") say more than leading ones.
            let score = 2 * suffix + prefix
            if score > 0 { scored.append((score, candidate)) }
        }
        return scored.sorted { ($0.score, $1.name) > ($1.score, $0.name) }.prefix(limit).map(\.name)
    }
}
