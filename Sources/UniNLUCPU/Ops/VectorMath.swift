// exp and erf on SIMD8<Float>, for softmax and GELU: the scalar libm calls cost more than the
// GEMMs around them at BERT sizes. Only baseline-x86-64 operations (no rounding instructions,
// no FMA), so the code is the same on every machine.
//   exp: Cephes expf (range reduction by ln 2 in two parts, degree-6 polynomial), ~1 ulp on [-87, 88].
//   erf: Eigen's rational approximation on [-4, 4] (erf is ±1 in FP32 outside), absolute error < 4e-7 (worst near ±3.6).

enum VectorMath {
    typealias Vector = SIMD8<Float>

    @inline(__always)
    static func exp(_ input: Vector) -> Vector {
        var x = input.replacing(with: 88.3762626647949, where: input .> 88.3762626647949)
        x.replace(with: -87.3365447505531, where: x .< -87.3365447505531)
        // n = round(x / ln 2): adding 1.5·2^23 leaves n in the low mantissa bits, rounded to nearest.
        let magic: Float = 12_582_912
        let shifted = x * 1.44269504088896341 + magic
        let n = shifted - magic
        var r = x - n * 0.693359375
        r = r - n * -2.12194440e-4
        var p: Vector = Vector(repeating: 1.9875691500e-4) * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let y = p * (r * r) + r + 1
        let exponent = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- Int32(bitPattern: magic.bitPattern)
        return y * unsafeBitCast((exponent &+ 127) &<< 23, to: Vector.self)
    }

    @inline(__always)
    static func erf(_ input: Vector) -> Vector {
        var x = input.replacing(with: 4, where: input .> 4)
        x.replace(with: -4, where: x .< -4)
        let x2 = x * x
        var p: Vector = Vector(repeating: -2.72614225801306e-10) * x2 + 2.77068142495902e-08
        p = p * x2 + -2.10102402082508e-06
        p = p * x2 + -5.69250639462346e-05
        p = p * x2 + -7.34990630326855e-04
        p = p * x2 + -2.95459980854025e-03
        p = p * x2 + -1.60960333262415e-02
        p = p * x
        var q: Vector = Vector(repeating: -1.45660718464996e-05) * x2 + -2.13374055278905e-04
        q = q * x2 + -1.68282697438203e-03
        q = q * x2 + -7.37332916720468e-03
        q = q * x2 + -1.42647390514189e-02
        return p / q
    }

    /// The largest lane (SIMD's `max()` is not inlined, and costs a call per row).
    @inline(__always)
    static func largest(_ v: Vector) -> Float {
        var m = v[0]
        for i in 1..<8 where v[i] > m { m = v[i] }
        return m
    }

    @inline(__always)
    static func sum(_ v: Vector) -> Float {
        let half = v.lowHalf + v.highHalf
        return (half[0] + half[2]) + (half[1] + half[3])
    }

    /// Loads `count` (< 8) floats, padding with `fill`.
    @inline(__always)
    static func loadPartial(_ p: UnsafePointer<Float>, count: Int, fill: Float = 0) -> Vector {
        var v = Vector(repeating: fill)
        for i in 0..<count { v[i] = p[i] }
        return v
    }

    @inline(__always)
    static func storePartial(_ v: Vector, _ p: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { p[i] = v[i] }
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
    }
}
