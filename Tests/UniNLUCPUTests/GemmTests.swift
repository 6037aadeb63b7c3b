import Foundation
import Testing
@testable import UniNLUCPU

// GEMM against a double-precision reference. Budget per element: 8·√k·u·Σ|a||b| (u = 2⁻²⁴), far
// above FP32 rounding of a blocked sum yet ~100x below the effect of one dropped or doubled term
// at k = 768. Guard columns (ldc > n) and guard rows must come back unchanged.

struct GemmCase: CustomTestStringConvertible, Sendable {
    let m: Int, n: Int, k: Int
    var testDescription: String { "m=\(m) n=\(n) k=\(k)" }
}

@Suite("GEMM")
struct GemmTests {
    static let sizes = [1, 3, 7, 31, 64, 65, 127]
    /// Odd shapes around the 6x16 tile and the 256 k-block, plus BERT-base shapes.
    static let cases: [GemmCase] = {
        var list: [GemmCase] = []
        for m in sizes {
            for n in [1, 3, 17, 64, 65] {
                for k in [1, 7, 64] { list.append(GemmCase(m: m, n: n, k: k)) }
            }
        }
        for (m, n, k) in [(7, 31, 257), (31, 127, 513), (65, 33, 768), (3, 768, 768), (127, 768, 65), (128, 768, 768),
                          (13, 2304, 96), (6, 16, 1000), (1, 3072, 768), (64, 64, 3072)] {
            list.append(GemmCase(m: m, n: n, k: k))
        }
        return list
    }()

    static let implementations = Gemm.availableImplementations

    @Test("packed GEMM matches a double reference on odd shapes, with and without accumulate",
          arguments: implementations, cases)
    func packedMatchesReference(implementation: Gemm.Implementation, shape: GemmCase) throws {
        for accumulate in [false, true] {
            try check(implementation: implementation, shape: shape, accumulate: accumulate, packedOnce: true)
        }
    }

    @Test("general GEMM (B packed per call, strided A) matches a double reference",
          arguments: implementations, [GemmCase(m: 5, n: 7, k: 9), GemmCase(m: 65, n: 129, k: 300), GemmCase(m: 1, n: 1, k: 1)])
    func generalMatchesReference(implementation: Gemm.Implementation, shape: GemmCase) throws {
        try check(implementation: implementation, shape: shape, accumulate: true, packedOnce: false)
    }

    private func check(implementation: Gemm.Implementation, shape: GemmCase, accumulate: Bool, packedOnce: Bool) throws {
        let (m, n, k) = (shape.m, shape.n, shape.k)
        let seed = TestSeed.make(m, n, k, accumulate ? 1 : 0)
        var rng = SeededGenerator(seed: seed)
        let lda = k + 3, ldc = n + 5, guardRows = 2
        let a = [Float].random(count: m * lda, in: -1...1, using: &rng)
        let weight = [Float].random(count: n * k, in: -1...1, using: &rng)  // [n x k], B = weightᵀ
        let sentinel: Float = -7777
        var c = [Float](repeating: sentinel, count: (m + guardRows) * ldc)
        let initial = [Float].random(count: m * n, in: -1...1, using: &rng)
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = initial[i * n + j] } }

        a.withUnsafeBufferPointer { ap in
            weight.withUnsafeBufferPointer { wp in
                c.withUnsafeMutableBufferPointer { cp in
                    if packedOnce {
                        let packed = GemmPackedMatrix(
                            rows: k, columns: n, source: wp.baseAddress!, rowStride: 1, columnStride: k,
                            keepRowMajor: implementation == .blas)
                        Gemm.multiply(m: m, a: ap.baseAddress!, lda: lda, b: packed, c: cp.baseAddress!, ldc: ldc,
                                      accumulate: accumulate, implementation: implementation)
                    } else {
                        Gemm.multiply(m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, b: wp.baseAddress!, bRowStride: 1,
                                      bColumnStride: k, c: cp.baseAddress!, ldc: ldc, accumulate: accumulate,
                                      implementation: implementation)
                    }
                }
            }
        }

        var got: [Float] = [], reference: [Double] = [], budget: [Double] = []
        let u = Double(Float.ulpOfOne) / 2
        for i in 0..<m {
            for j in 0..<n {
                var sum = accumulate ? Double(initial[i * n + j]) : 0
                var magnitude = accumulate ? abs(Double(initial[i * n + j])) : 0
                for p in 0..<k {
                    let product = Double(a[i * lda + p]) * Double(weight[j * k + p])
                    sum += product
                    magnitude += abs(product)
                }
                got.append(c[i * ldc + j])
                reference.append(sum)
                budget.append(8 * Double(k).squareRoot() * u * magnitude + 1e-30)
            }
        }
        let (worst, index) = worstScaledError(got, reference, scale: budget)
        #expect(worst <= 1, """
            \(implementation) m=\(m) n=\(n) k=\(k) accumulate=\(accumulate) seed=\(seed): element \(index) \
            off by \(worst)x its budget (got \(index >= 0 ? got[index] : .nan), want \(index >= 0 ? reference[index] : .nan))
            """)
        var touched = 0
        for i in 0..<(m + guardRows) {
            for j in 0..<ldc where i >= m || j >= n {
                if c[i * ldc + j] != sentinel { touched += 1 }
            }
        }
        #expect(touched == 0, "\(implementation) m=\(m) n=\(n) k=\(k) seed=\(seed): \(touched) guard values overwritten")
    }

    @Test("k = 0 gives zeros (or leaves C alone when accumulating)", arguments: implementations)
    func emptyReduction(implementation: Gemm.Implementation) {
        var c: [Float] = [1, 2, 3, 4, 5, 6]
        let a: [Float] = [0], b: [Float] = [0]
        c.withUnsafeMutableBufferPointer { cp in
            Gemm.multiply(m: 2, n: 3, k: 0, a: a, lda: 1, b: b, bRowStride: 3, bColumnStride: 1,
                          c: cp.baseAddress!, ldc: 3, accumulate: true, implementation: implementation)
        }
        #expect(c == [1, 2, 3, 4, 5, 6])
        c.withUnsafeMutableBufferPointer { cp in
            Gemm.multiply(m: 2, n: 3, k: 0, a: a, lda: 1, b: b, bRowStride: 3, bColumnStride: 1,
                          c: cp.baseAddress!, ldc: 3, accumulate: false, implementation: implementation)
        }
        #expect(c == [0, 0, 0, 0, 0, 0])
    }

    @Test("the epilogue blocks tile C exactly once, in parallel runs too",
          arguments: [GemmCase(m: 1, n: 1, k: 4), GemmCase(m: 200, n: 700, k: 64), GemmCase(m: 1024, n: 3072, k: 8)])
    func epilogueTilesOutput(shape: GemmCase) {
        let (m, n, k) = (shape.m, shape.n, shape.k)
        let a = [Float](repeating: 1, count: m * k), w = [Float](repeating: 1, count: n * k)
        var c = [Float](repeating: 0, count: m * n)
        let counts = UnsafeMutablePointer<Int32>.allocate(capacity: m * n)
        counts.initialize(repeating: 0, count: m * n)
        defer { counts.deallocate() }
        let packed = w.withUnsafeBufferPointer { GemmPackedMatrix(transposingWeight: $0.baseAddress!, outFeatures: n, inFeatures: k) }
        a.withUnsafeBufferPointer { ap in
            c.withUnsafeMutableBufferPointer { cp in
                let cBase = cp.baseAddress!
                Gemm.multiply(m: m, a: ap.baseAddress!, lda: k, b: packed, c: cBase, ldc: n, implementation: Gemm.availableImplementations[0]) { rows, columns in
                    for i in rows {
                        for j in columns {
                            counts[i * n + j] += 1
                            // The block must be final when its epilogue runs.
                            if cBase[i * n + j] != Float(k) { counts[i * n + j] += 100 }
                        }
                    }
                }
            }
        }
        let wrong = (0..<(m * n)).filter { counts[$0] != 1 }
        #expect(wrong.isEmpty, "\(wrong.count) elements not covered exactly once by final blocks, first \(wrong.first ?? -1)")
    }
}
