import Foundation
import Testing
@testable import UniNLUCPU

// The vectorized exp and erf against libm in double, over the ranges softmax and GELU feed them.

@Suite("vector math")
struct VectorMathTests {
    @Test("exp is within 2e-7 relative on [-87, 88]")
    func exponential() {
        var worst = 0.0, at: Float = 0
        var x: Float = -87
        while x < 88 {
            var v = SIMD8<Float>()
            for i in 0..<8 { v[i] = x + Float(i) * 0.0013 }
            let e = VectorMath.exp(v)
            for i in 0..<8 {
                let want = Foundation.exp(Double(v[i]))
                let error = abs(Double(e[i]) - want) / want
                if error > worst { worst = error; at = v[i] }
            }
            x += 0.0137
        }
        #expect(worst <= 2e-7, "worst relative error \(worst) at x = \(at)")
        let edges = VectorMath.exp(SIMD8(0, -0.0, 1, -1, -200, -.infinity, 100, .infinity))
        #expect(edges[0] == 1 && edges[1] == 1)
        #expect(edges[4] >= 0 && edges[4] < 1e-37 && edges[5] >= 0 && edges[5] < 1e-37)
        #expect(edges[6].isFinite && edges[6] > 1e38)
    }

    @Test("erf is within 5e-7 absolute on [-8, 8], exactly ±1 far out")
    func errorFunction() {
        var worst = 0.0, at: Float = 0
        var x: Float = -8
        while x < 8 {
            var v = SIMD8<Float>()
            for i in 0..<8 { v[i] = x + Float(i) * 0.00037 }
            let e = VectorMath.erf(v)
            for i in 0..<8 {
                let error = abs(Double(e[i]) - Foundation.erf(Double(v[i])))
                if error > worst { worst = error; at = v[i] }
            }
            x += 0.0031
        }
        #expect(worst <= 5e-7, "worst absolute error \(worst) at x = \(at)")
        let far = VectorMath.erf(SIMD8(10, -10, 1e30, -1e30, 0, -0.0, 4, -4))
        #expect(far[0] == 1 && far[1] == -1 && far[2] == 1 && far[3] == -1 && far[4] == 0)
    }

    @Test("GELU matches the exact erf form within 1e-6·max(1, |x|) on [-10, 10], any length")
    func gelu() {
        for count in [1, 7, 8, 9, 100] {
            let inputs = (0..<count).map { Float(-10 + 20 * Double($0) / Double(max(count - 1, 1))) }
            var values = inputs
            values.withUnsafeMutableBufferPointer { Gelu.apply($0.baseAddress!, count: count) }
            for (x, y) in zip(inputs, values) {
                let want = geluReference(Double(x))
                #expect(abs(Double(y) - want) <= 1e-6 * max(1, abs(Double(x))), "count \(count): gelu(\(x)) = \(y), want \(want)")
            }
        }
    }
}
