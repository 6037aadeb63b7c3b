import UniNLUCheckpoint
import UniNLUCore

// Loading helpers shared by the BERT and DeBERTa-v2 encoders: the same `<base>.weight` / `<base>.bias`
// tensors, taken from the store in the same order, so a missing or misshapen tensor is named the same way.

extension EncoderKernels {
    /// A LayerNorm from `<base>.weight` and `<base>.bias`, both `[width]`.
    func loadNorm(_ base: String, width: Int, epsilon: Float, from store: TensorStore) throws -> Norm {
        try makeNorm(
            gamma: store.take("\(base).weight", shape: [width]), beta: store.take("\(base).bias", shape: [width]),
            epsilon: epsilon)
    }

    /// A linear layer from `<base>.weight` `[out, in]` and `<base>.bias` `[out]`.
    func loadLinear(_ base: String, out: Int, in inFeatures: Int, from store: TensorStore) throws -> Linear {
        try makeLinear(
            weight: store.take("\(base).weight", shape: [out, inFeatures]),
            bias: store.take("\(base).bias", shape: [out]), outFeatures: out, inFeatures: inFeatures)
    }

    /// Query, key and value (each `[width, width]` + `[width]`) fused into one `[3·width x width]` linear.
    func loadFusedQKV(query: String, key: String, value: String, width h: Int, from store: TensorStore) throws -> Linear {
        let weight = try store.take("\(query).weight", shape: [h, h]) + store.take("\(key).weight", shape: [h, h])
            + store.take("\(value).weight", shape: [h, h])
        let bias = try store.take("\(query).bias", shape: [h]) + store.take("\(key).bias", shape: [h])
            + store.take("\(value).bias", shape: [h])
        return try makeLinear(weight: weight, bias: bias, outFeatures: 3 * h, inFeatures: h)
    }
}
