// The whole kernel library as one NVRTC program per precision: the prelude, then every op file's
// source. `names` lists every entry point the engine resolves after loading the module.

public enum KernelLibrary {
    public static func source(fp16: Bool) -> String {
        "#define UNINLU_FP16 \(fp16 ? 1 : 0)\n" + KernelPrelude.source + "\n"
            + [ConvertKernel.source, LayerNormKernel.source, EmbeddingKernel.source, GatherRowsKernel.source,
               AttentionKernel.source, LinearFallbackKernel.source, DisentangledAttentionKernel.source,
               ConvolutionKernel.source, RotaryPairScoresKernel.source].joined(separator: "\n")
    }

    public static var names: [String] {
        ConvertKernel.names + LayerNormKernel.names + EmbeddingKernel.names + GatherRowsKernel.names
            + AttentionKernel.names + LinearFallbackKernel.names
            + DisentangledAttentionKernel.names + ConvolutionKernel.names + RotaryPairScoresKernel.names
    }
}
