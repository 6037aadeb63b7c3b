import Foundation

// Exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2)), as PyTorch's `nn.functional.gelu` (approximate="none").

public enum Gelu {
    public static func apply(_ values: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let x = values[i]
            values[i] = 0.5 * x * (1 + erf(x * 0.70710678118654752))
        }
    }
}
