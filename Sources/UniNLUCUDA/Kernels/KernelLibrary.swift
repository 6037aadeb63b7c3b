// The whole kernel library as one NVRTC program per precision: the prelude, then every op file's
// source. `names` lists every entry point the engine resolves after loading the module.

public enum KernelLibrary {
    public static func source(fp16: Bool) -> String {
        "#define UNINLU_FP16 \(fp16 ? 1 : 0)\n" + KernelPrelude.source + "\n"
            + [ConvertKernel.source, LayerNormKernel.source, EmbeddingKernel.source, GatherRowsKernel.source,
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

    /// Kernels launched with programmatic dependent launch where the device can (CUDAContext): the
    /// ones that follow a cuBLASLt GEMM in a layer. Each begins with UNINLU_WAIT_FOR_PRODUCER(), or
    /// (`producerWaitingAfterWeights`) reads only weights before it; KernelSourceTests checks both.
    static let producerWaiting = [
        "attention_tc_d64", "attention_tc_shared_d64", "attention_tc_split_d64", "attention_tc_k64_d64", "layer_norm",
        "disentangled_attention_mma_d64", "disentangled_attention_mma_split_d64", "disentangled_attention_tc_d64",
        "disentangled_attention_tcr_d64", "disentangled_attention_tcs_d64",
    ]
    /// Warp-per-row LayerNorm: gamma and beta load before the wait (layer_norm_warp_rows).
    static let producerWaitingAfterWeights = ["layer_norm_warp_c1", "layer_norm_warp_c2", "layer_norm_warp_c3", "layer_norm_warp_c4"]

    public static var names: [String] {
        ConvertKernel.names + LayerNormKernel.names + EmbeddingKernel.names + GatherRowsKernel.names
            + AttentionKernel.names + AttentionKeyTile64Kernel.names + LinearFallbackKernel.names
            + DisentangledAttentionKernel.names + ConvolutionKernel.names + RotaryPairScoresKernel.names
    }
}
