import Foundation
import Testing
@testable import UniNLUCPU

// Linear (bias, GELU, residual), LayerNorm and the embedding gather against double references
// computed from the same FP32 inputs.

struct LinearCase: CustomTestStringConvertible, Sendable {
    let rows: Int, inFeatures: Int, outFeatures: Int, gelu: Bool, residual: Bool
    var testDescription: String { "\(rows)x\(inFeatures)->\(outFeatures) gelu=\(gelu) residual=\(residual)" }
}

struct NormCase: CustomTestStringConvertible, Sendable {
    let rows: Int, width: Int, epsilon: Float, offset: Float, deviation: Float
    var testDescription: String { "\(rows)x\(width) eps=\(epsilon) offset=\(offset) deviation=\(deviation)" }
}

@Suite("layers")
struct LayerTests {
    static let linearCases: [LinearCase] = [
        LinearCase(rows: 1, inFeatures: 1, outFeatures: 1, gelu: false, residual: false),
        LinearCase(rows: 3, inFeatures: 7, outFeatures: 5, gelu: true, residual: true),
        LinearCase(rows: 31, inFeatures: 65, outFeatures: 127, gelu: true, residual: false),
        LinearCase(rows: 65, inFeatures: 64, outFeatures: 33, gelu: false, residual: true),
        LinearCase(rows: 128, inFeatures: 768, outFeatures: 2, gelu: false, residual: false),
        LinearCase(rows: 13, inFeatures: 768, outFeatures: 3072, gelu: true, residual: false),
        LinearCase(rows: 13, inFeatures: 3072, outFeatures: 768, gelu: false, residual: true),
    ]

    @Test("linear = act(x·Wᵀ + b) + residual, within 8·√k·u·Σ|x||w| + 1e-6 of a double reference", arguments: linearCases)
    func linear(shape: LinearCase) {
        let seed = TestSeed.make(shape.rows, shape.inFeatures, shape.outFeatures, shape.gelu ? 1 : 0)
        var rng = SeededGenerator(seed: seed)
        let (m, k, n) = (shape.rows, shape.inFeatures, shape.outFeatures)
        let x = [Float].random(count: m * k, in: -2...2, using: &rng)
        let w = [Float].random(count: n * k, in: -0.1...0.1, using: &rng)
        let b = [Float].random(count: n, in: -1...1, using: &rng)
        let r = [Float].random(count: m * n, in: -3...3, using: &rng)
        let layer = CPULinear(weight: w, bias: b, outFeatures: n, inFeatures: k)
        let y = layer.apply(matrix(m, k, x), activation: shape.gelu ? .gelu : .none, residual: shape.residual ? matrix(m, n, r) : nil).values

        var reference: [Double] = [], budget: [Double] = []
        let u = Double(Float.ulpOfOne) / 2
        for i in 0..<m {
            for j in 0..<n {
                var sum = Double(b[j]), magnitude = abs(Double(b[j]))
                for p in 0..<k {
                    sum += Double(x[i * k + p]) * Double(w[j * k + p])
                    magnitude += abs(Double(x[i * k + p]) * Double(w[j * k + p]))
                }
                // GELU's slope is below 1.13, so the product's error passes through at most ~1.13x.
                var value = shape.gelu ? geluReference(sum) : sum
                if shape.residual { value += Double(r[i * n + j]) }
                reference.append(value)
                budget.append(1.2 * 8 * Double(k).squareRoot() * u * magnitude + 1e-6 * max(1, abs(value)))
            }
        }
        let (worst, index) = worstScaledError(y, reference, scale: budget)
        #expect(worst <= 1, "\(shape.testDescription) seed=\(seed): element \(index) off by \(worst)x its budget")
    }

    static let normCases: [NormCase] = [
        NormCase(rows: 1, width: 1, epsilon: 1e-12, offset: 0, deviation: 1),
        NormCase(rows: 5, width: 7, epsilon: 1e-12, offset: 0, deviation: 1),
        NormCase(rows: 33, width: 768, epsilon: 1e-12, offset: 0, deviation: 1),
        NormCase(rows: 33, width: 768, epsilon: 1e-7, offset: 0, deviation: 1),
        NormCase(rows: 9, width: 769, epsilon: 1e-12, offset: 1000, deviation: 1),
        NormCase(rows: 9, width: 768, epsilon: 1e-7, offset: -3000, deviation: 0.5),
        NormCase(rows: 4, width: 768, epsilon: 1e-7, offset: 0, deviation: 1e-4),
        NormCase(rows: 3, width: 20, epsilon: 1e-12, offset: 7, deviation: 0),
    ]

    @Test("layerNorm is within 4e-6·(|γ|+1) + |β|·u of a double reference, large mean offsets included", arguments: normCases)
    func layerNorm(shape: NormCase) {
        let seed = TestSeed.make(shape.rows, shape.width, Int(shape.offset), Int(shape.epsilon * 1e12))
        var rng = SeededGenerator(seed: seed)
        let (m, n) = (shape.rows, shape.width)
        let x = [Float].normal(count: m * n, mean: shape.offset, deviation: shape.deviation, using: &rng)
        let gamma = [Float].random(count: n, in: 0.5...2, using: &rng)
        let beta = [Float].random(count: n, in: -1...1, using: &rng)
        let y = LayerNorm.apply(matrix(m, n, x), CPUNorm(gamma: gamma, beta: beta, epsilon: shape.epsilon)).values
        var reference: [Double] = [], budget: [Double] = []
        for i in 0..<m {
            let row = x[(i * n)..<((i + 1) * n)].map(Double.init)
            let mean = row.reduce(0, +) / Double(n)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
            let inv = 1 / (variance + Double(shape.epsilon)).squareRoot()
            for j in 0..<n {
                let value = (row[j] - mean) * inv * Double(gamma[j]) + Double(beta[j])
                reference.append(value)
                budget.append(4e-6 * (Double(gamma[j]) + 1) + abs(Double(beta[j])) * 6e-8)
            }
        }
        let (worst, index) = worstScaledError(y, reference, scale: budget)
        #expect(worst <= 1, "\(shape.testDescription) seed=\(seed): element \(index) off by \(worst)x (got \(y[max(index, 0)]), want \(reference[max(index, 0)]))")
    }

    @Test("the embedding gather sums one row per table, then normalizes")
    func embedding() {
        var rng = SeededGenerator(seed: TestSeed.make(42))
        let width = 37
        let tables = [11, 5, 2].map { rows in
            CPUEmbeddingTable(values: [Float].random(count: rows * width, in: -1...1, using: &rng), rows: rows, width: width)
        }
        let ids: [[Int32]] = [[0, 10, 3, 3, 7], [0, 1, 2, 3, 4], [0, 0, 1, 1, 0]]
        let norm = CPUNorm(gamma: [Float](repeating: 1.5, count: width), beta: [Float](repeating: 0.25, count: width), epsilon: 1e-12)
        let y = EmbeddingGather.apply(tables: tables, ids: ids, norm: norm).values
        var reference: [Double] = []
        for token in 0..<5 {
            let sum = (0..<width).map { i in tables.indices.reduce(0.0) { $0 + Double(tables[$1].values[Int(ids[$1][token]) * width + i]) } }
            let mean = sum.reduce(0, +) / Double(width)
            let variance = sum.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(width)
            reference += sum.map { ($0 - mean) / (variance + 1e-12).squareRoot() * 1.5 + 0.25 }
        }
        let (worst, index) = maxAbsError(y, reference)
        #expect(worst <= 1e-5, "element \(index) off by \(worst)")
    }
}
