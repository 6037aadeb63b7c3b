// The constants of upstream RexUniNLU (`rex/arguments.py` DataArguments) and the switches that depart
// from upstream. With the defaults the output is upstream's, except where upstream silently drops
// input (`overlongLabels`); every departure is listed in docs/rex-uninlu.md.

public struct RexUniNLUOptions: Sendable, Equatable {
    /// What to do with a label longer than `labelMaxTokens` (upstream silently leaves it out of the prompt).
    public enum OverlongLabelPolicy: Sendable, Equatable {
        /// Refuse the request, naming the label (default: a label the model never sees is a wrong answer).
        case reject
        /// Upstream behaviour: leave the label out and report it in `RexPrediction.warnings`.
        case skip
    }

    /// Tokens per model input, prompt and text together (`max_len`).
    public var maxLength = 512
    /// Overlap between consecutive text windows for extraction (`stride_len`).
    public var stride = 32
    /// Overlap for classification texts: upstream calls the tokenizer with `stride=0` there.
    public var classificationStride = 0
    /// Token budget of one packed prompt (`hint_max_len`); a level needing more is split into several prompts.
    public var promptMaxTokens = 256
    /// Longest label, in tokens + 1 (`info_type_max_len`).
    public var labelMaxTokens = 125
    /// Longest prefix string ("type: span,…" of the path above), in tokens + 1 (`prefix_string_max_len`);
    /// longer prefixes are left out as upstream does, with a warning.
    public var prefixMaxTokens = 125
    public var overlongLabels: OverlongLabelPolicy = .reject

    /// Adds `"score"` to every extracted span (mean of σZ over its three links: head→tail, head→[TYPE],
    /// [TYPE]→tail, rounded to 4 places) and keeps classification's `"confidence"`. Upstream returns neither.
    public var includeScores = false

    /// Fixes upstream's classification windows: upstream rewrites the text for every window after the first
    /// and mis-places the inserted marker from the third window on, so those windows never count. With the
    /// fix each window's inserted marker is recognised by its token id and the text is left alone.
    public var fixClassificationWindows = false
    /// Fixes the blank (handshake) fallback when the marker is not the first text token: upstream scores the
    /// first text token and returns `[]`; the fix scores the marker token itself.
    public var fixBlankFallbackMarker = false
    /// Treats a literal `[TYPE]` / `[PREFIX]` in the user text as text when building position ids and the
    /// 2-D mask. Upstream gives the tokens after a literal `[TYPE]` prompt positions and hides them from the
    /// sibling types; a literal `[PREFIX]` crashes it (UniNLU refuses that input unless this is on).
    public var fixMarkersInText = false

    public init() {}
}
