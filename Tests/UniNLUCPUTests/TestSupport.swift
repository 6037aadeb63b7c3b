import Foundation
@testable import UniNLUCPU

// Shared pieces of the CPU op tests: a seeded RNG (the seed is printed in every failure message;
// UNINLU_TEST_SEED overrides it), random inputs, and error measures against double references.

struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        // SplitMix64.
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SeededGenerator {
    /// A value in `low..<high` from the top 24 bits of one draw (the DeBERTa op tests' inputs; the seed is
    /// printed in each case's description).
    mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * Float(next() >> 40) / Float(1 << 24)
    }
}

enum TestSeed {
    /// The base seed; each case mixes in its own parameters so that cases differ.
    static let base: UInt64 = {
        if let raw = ProcessInfo.processInfo.environment["UNINLU_TEST_SEED"], let value = UInt64(raw) { return value }
        return 20_250_601
    }()

    static func make(_ parts: Int...) -> UInt64 {
        var seed = base
        for part in parts { seed = seed &* 6_364_136_223_846_793_005 &+ UInt64(bitPattern: Int64(part)) }
        return seed
    }
}

extension Array where Element == Float {
    static func random(count: Int, in range: ClosedRange<Float>, using rng: inout SeededGenerator) -> [Float] {
        (0..<count).map { _ in Float.random(in: range, using: &rng) }
    }

    /// Roughly normal values (sum of uniforms), mean `mean`, standard deviation `deviation`.
    static func normal(count: Int, mean: Float = 0, deviation: Float = 1, using rng: inout SeededGenerator) -> [Float] {
        (0..<count).map { _ in
            var s: Float = 0
            for _ in 0..<12 { s += Float.random(in: 0..<1, using: &rng) }
            return mean + (s - 6) * deviation
        }
    }
}

/// The worst element of `candidate` against `reference`, as |c - r| / scale[i]
/// (scale = an error budget per element).
func worstScaledError(_ candidate: [Float], _ reference: [Double], scale: [Double]) -> (error: Double, index: Int) {
    precondition(candidate.count == reference.count && scale.count == reference.count)
    var worst = 0.0, index = -1
    for i in candidate.indices {
        let c = Double(candidate[i])
        if c.isNaN { return (.infinity, i) }
        let e = abs(c - reference[i]) / scale[i]
        if e > worst || e.isNaN {
            worst = e
            index = i
        }
    }
    return (worst, index)
}

func maxAbsError(_ candidate: [Float], _ reference: [Double]) -> (error: Double, index: Int) {
    worstScaledError(candidate, reference, scale: [Double](repeating: 1, count: reference.count))
}

func matrix(_ rows: Int, _ columns: Int, _ values: [Float]) -> CPUMatrix {
    CPUMatrix(rows: rows, columns: columns, values: values)
}

/// Double-precision exact GELU.
func geluReference(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.0.squareRoot())) }
