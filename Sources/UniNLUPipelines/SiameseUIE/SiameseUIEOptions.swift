// The constants of upstream `SiameseUiePipeline.__init__` (siamese_uie_pipeline.py L81-85) and its
// one call option. Changing them departs from upstream; they exist so experiments can.

public struct SiameseUIEOptions: Sendable, Equatable {
    /// Tokens per text window (`max_len`).
    public var windowLength = 384
    /// Step between window starts (`slide_len`); windows overlap by `windowLength - windowStride`.
    public var windowStride = 352
    /// Hint truncation, in tokens including [CLS]/[SEP] (`hint_max_len`).
    public var hintMaxLength = 128
    /// Raw-logit threshold for heads and tails (`threshold`; no sigmoid upstream).
    public var threshold = 0.5
    /// Also emit the non-leaf prefix paths (upstream `output_all_prefix`).
    public var outputAllPrefix = false

    public init(outputAllPrefix: Bool = false) { self.outputAllPrefix = outputAllPrefix }
}
