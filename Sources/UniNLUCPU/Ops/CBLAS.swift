#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// An optional system BLAS, found at run time with dlopen (never linked): only `cblas_sgemm` with
// 32-bit integers (LP64 OpenBLAS, reference BLAS, BLIS). Used only when UNINLU_CPU_GEMM=blas; the
// Swift/AVX2 path is the default because CI and user machines may have no BLAS at all.

public struct CBLAS: @unchecked Sendable {
    // @unchecked: a C function pointer and an immutable path.
    typealias SGEMM = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Float,
        UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32, Float,
        UnsafeMutablePointer<Float>?, Int32
    ) -> Void

    /// The library file that was loaded.
    public let path: String
    let sgemm: SGEMM

    /// Libraries tried in order; UNINLU_BLAS_LIBRARY (a path or soname) goes first when set.
    public static let candidates = ["libopenblas.so.0", "libopenblas.so", "libblis.so.4", "libblas.so.3", "libcblas.so.3"]

    /// The first loadable library exporting cblas_sgemm, or nil.
    public static let shared: CBLAS? = {
        var names = candidates
        if let raw = getenv("UNINLU_BLAS_LIBRARY") { names.insert(String(cString: raw), at: 0) }
        for name in names {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
            if let symbol = dlsym(handle, "cblas_sgemm") {
                return CBLAS(path: name, sgemm: unsafeBitCast(symbol, to: SGEMM.self))
            }
            dlclose(handle)
        }
        return nil
    }()

    private static let rowMajor: Int32 = 101
    private static let noTranspose: Int32 = 111

    /// C[m x n] = A[m x k] · B[k x n] (+ C when accumulate), all row-major.
    func multiply(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        sgemm(
            Self.rowMajor, Self.noTranspose, Self.noTranspose, Int32(m), Int32(n), Int32(k), 1,
            a, Int32(lda), b, Int32(ldb), accumulate ? 1 : 0, c, Int32(ldc))
    }
}
