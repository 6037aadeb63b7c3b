import UniNLUText

// Upstream `split_hint_by_level` (data_loader.py), without its `random.shuffle` of prefix blocks: blocks
// keep level order (the order paths were found), so results are reproducible. Types are sorted by code
// point. Token counts are upstream's: `len(tokenizer(s)['input_ids']) - 1`, i.e. the tokens plus one for
// the marker. A prompt is closed when the next block or type would pass the budget; nothing is dropped
// except labels and prefixes over their limits (reported in `warnings`).

struct RexPromptPacker {
    let tokenizer: BertTokenizer
    let options: RexUniNLUOptions

    static let prefixMarker = "[PREFIX]"
    static let typeMarker = "[TYPE]"

    /// `len(tokenizer(s)['input_ids']) - 1`.
    func tokenCount(_ s: String) -> Int { tokenizer.encode(s).count - 1 }

    func pack(_ level: RexLevel, warnings: inout [String]) -> [RexPrompt] {
        var prompts: [RexPrompt] = []
        var current = RexPrompt()
        var used = 2
        for entry in 0..<level.count {
            let prefix = level.prefixes[entry]
            let prefixString = prefix.map { "\($0.type): \($0.span)" }.joined(separator: ",")
            let prefixTokens = tokenCount(prefixString)
            if prefixTokens > options.prefixMaxTokens {
                warnings.append("a path prefix of \(prefixTokens - 1) tokens (\"\(prefixString.unicodeScalars.prefix(40).map(String.init).joined())…\") exceeds the \(options.prefixMaxTokens - 1)-token limit and was not searched further (as upstream)")
                continue
            }
            var first = true
            for label in level.schemas[entry].labels.sorted(by: codePointPrecedes) {
                let labelTokens = tokenCount(label)
                if labelTokens > options.labelMaxTokens {
                    warnings.append("label \"\(label.unicodeScalars.prefix(40).map(String.init).joined())…\" (\(labelTokens - 1) tokens) exceeds the \(options.labelMaxTokens - 1)-token limit and was left out (as upstream)")
                    continue
                }
                let needed = first ? prefixTokens + labelTokens : labelTokens
                if used + needed > options.promptMaxTokens {
                    if current.length > 0 { prompts.append(current) }
                    current = RexPrompt()
                    current.append(Self.prefixMarker + prefixString)
                    used = 2 + prefixTokens + labelTokens
                } else {
                    if first { current.append(Self.prefixMarker + prefixString) }
                    used += needed
                }
                current.types.append(RexPrompt.TypeSlot(entry: entry, label: label, charIndex: current.length))
                current.append(Self.typeMarker + label)
                first = false
            }
        }
        if current.length > 0 { prompts.append(current) }
        return prompts
    }
}
