// The numeric precision asked for with `--precision`. Which ones a backend runs is
// `PredictorFactory.supportedPrecisions`: the CPU backend is the FP32 reference; the CUDA backend
// runs fp16 (default) and fp32 (the CLI maps them to the engine's `ComputePrecision`). bf16, int8
// and fp8 are named so the flag is stable; asking for them is refused until an engine runs them.

public enum Precision: String, Sendable, CaseIterable {
    case fp32
    case fp16
    case bf16
    case int8
    case fp8
}
