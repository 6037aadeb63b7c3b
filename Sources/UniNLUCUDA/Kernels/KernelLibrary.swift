// The whole kernel library as one NVRTC program per precision: the prelude, then every op file's
// source. `names` lists every entry point the engine resolves after loading the module.

public enum KernelLibrary {
    public static func source(fp16: Bool) -> String {
        "#define UNINLU_FP16 \(fp16 ? 1 : 0)\n" + KernelPrelude.source + "\n" + TensorCorePrelude.source + "\n"
            + [ConvertKernel.source, StreamHoldKernel.source, LayerNormKernel.source, ResidualLayerNormKernel.source, EmbeddingKernel.source, GatherRowsKernel.source,
               AttentionKernel.source, AttentionKeyTile64Kernel.source, LinearFallbackKernel.source, DisentangledAttentionKernel.source,
               ConvolutionKernel.source, RotaryPairScoresKernel.source].joined(separator: "\n")
    }

    /// FNV-1a (64-bit, hex) of `source(fp16:)`: a plan stores it beside its cubin, so that a plan built
    /// by a UniNLU with other kernels (other entry points or arguments) is refused, not launched.
    public static func fingerprint(fp16: Bool) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in source(fp16: fp16).utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return String(hash, radix: 16)
    }

    public static var names: [String] {
        ConvertKernel.names + StreamHoldKernel.names + LayerNormKernel.names + ResidualLayerNormKernel.names + EmbeddingKernel.names + GatherRowsKernel.names
            + AttentionKernel.names + AttentionKeyTile64Kernel.names + LinearFallbackKernel.names
            + DisentangledAttentionKernel.names + ConvolutionKernel.names + RotaryPairScoresKernel.names
    }
}
