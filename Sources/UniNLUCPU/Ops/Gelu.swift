// Exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2)), as PyTorch's `nn.functional.gelu` (approximate="none"),
// with erf from `VectorMath` (absolute error < 4e-7, FP32 throughout).

public enum Gelu {
    public static func apply(_ values: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            VectorMath.store(gelu(VectorMath.load(values + i)), values + i)
            i += 8
        }
        if i < count {
            let rest = count - i
            VectorMath.storePartial(gelu(VectorMath.loadPartial(values + i, count: rest)), values + i, count: rest)
        }
    }

    @inline(__always)
    static func gelu(_ x: SIMD8<Float>) -> SIMD8<Float> {
        0.5 * x * (1 + VectorMath.erf(x * 0.70710678118654752))
    }
}
