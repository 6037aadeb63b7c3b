/// The output of `BertNormalizer` for one segment: normalized code points, each with the index of the original
/// code point it came from. HF keeps a byte-range alignment per normalized byte; every BERT normalization step
/// maps each output char to exactly one input char, so one original index per scalar carries the same
/// information.
///
/// The storage is caller-provided scratch (see `BertTokenizer.tokenize`) of `BertNormalizer.maxExpansion`
/// slots per input scalar, so the hot loop writes without capacity or uniqueness checks.
struct NormalizedText {
    let scalars: UnsafeMutableBufferPointer<UInt32>
    let origins: UnsafeMutableBufferPointer<Int32>
    var count = 0

    // NFD state (see `BertNormalizer`): marks waiting for canonical ordering, the origins of input chars whose
    // first decomposed scalar has not been emitted yet, and the origin of the last char the transform consumed.
    var pendingBlock: [(combiningClass: UInt8, scalar: UInt32, inserted: Bool)] = []
    var pendingOrigins: [Int32] = []
    var pendingOriginsHead = 0
    var lastOrigin: Int32 = 0

    init(scalars: UnsafeMutableBufferPointer<UInt32>, origins: UnsafeMutableBufferPointer<Int32>) {
        self.scalars = scalars
        self.origins = origins
    }

    @inline(__always)
    mutating func append(_ scalar: UInt32, origin: Int32) {
        scalars[count] = scalar
        origins[count] = origin
        count += 1
    }

    mutating func reset() {
        count = 0
        pendingBlock.removeAll(keepingCapacity: true)
        pendingOrigins.removeAll(keepingCapacity: true)
        pendingOriginsHead = 0
        lastOrigin = 0
    }
}
