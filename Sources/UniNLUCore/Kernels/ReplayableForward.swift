// A forward whose sequence of ops depends only on its packing shape may be replayed by a backend
// (the CUDA backend captures it once as a graph and replays it with the new inputs) instead of
// being dispatched op by op. Graphs mark such regions; the CPU backend just runs them.

/// What decides a region's ops: a name for the region and every length its packing depends on.
/// Two calls with equal shapes are expected (and on CUDA verified) to issue the same ops.
public struct ForwardShape: Hashable, Sendable, CustomStringConvertible {
    public let region: String
    public let lengths: [Int]
    /// Rows (tokens) the region processes: large regions are not worth a graph.
    public let tokens: Int

    public init(region: String, lengths: [Int], tokens: Int) {
        self.region = region
        self.lengths = lengths
        self.tokens = tokens
    }

    public var description: String { "\(region)\(lengths)" }
}

extension EncoderKernels {
    /// The default: run `body` directly (`CUDAKernels` replays graphs instead).
    public func replayable(_ shape: ForwardShape, _ body: () throws -> [Activations]) throws -> [Activations] {
        try body()
    }
}
