import CCUDA

// cuBLASLt entry points, from libcublasLt.so.13 (CUDA 13) or .12.

struct BLASLtAPI: @unchecked Sendable {
    // @unchecked: immutable C function pointers.
    let library: DynamicLibrary
    let cublasLtGetVersion: PFN_cublasLtGetVersion
    let cublasLtGetStatusName: PFN_cublasLtGetStatusName
    let cublasLtCreate: PFN_cublasLtCreate
    let cublasLtDestroy: PFN_cublasLtDestroy
    let cublasLtMatmulDescCreate: PFN_cublasLtMatmulDescCreate
    let cublasLtMatmulDescDestroy: PFN_cublasLtMatmulDescDestroy
    let cublasLtMatmulDescSetAttribute: PFN_cublasLtMatmulDescSetAttribute
    let cublasLtMatrixLayoutCreate: PFN_cublasLtMatrixLayoutCreate
    let cublasLtMatrixLayoutDestroy: PFN_cublasLtMatrixLayoutDestroy
    let cublasLtMatrixLayoutSetAttribute: PFN_cublasLtMatrixLayoutSetAttribute
    let cublasLtMatmulPreferenceCreate: PFN_cublasLtMatmulPreferenceCreate
    let cublasLtMatmulPreferenceDestroy: PFN_cublasLtMatmulPreferenceDestroy
    let cublasLtMatmulPreferenceSetAttribute: PFN_cublasLtMatmulPreferenceSetAttribute
    let cublasLtMatmulAlgoGetHeuristic: PFN_cublasLtMatmulAlgoGetHeuristic
    let cublasLtMatmulAlgoCheck: PFN_cublasLtMatmulAlgoCheck
    let cublasLtMatmul: PFN_cublasLtMatmul

    static let candidates = ["libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"]

    init() throws {
        let l = try DynamicLibrary(name: "libcublasLt (cuBLASLt)", candidates: Self.candidates)
        library = l
        cublasLtGetVersion = try l.symbol("cublasLtGetVersion")
        cublasLtGetStatusName = try l.symbol("cublasLtGetStatusName")
        cublasLtCreate = try l.symbol("cublasLtCreate")
        cublasLtDestroy = try l.symbol("cublasLtDestroy")
        cublasLtMatmulDescCreate = try l.symbol("cublasLtMatmulDescCreate")
        cublasLtMatmulDescDestroy = try l.symbol("cublasLtMatmulDescDestroy")
        cublasLtMatmulDescSetAttribute = try l.symbol("cublasLtMatmulDescSetAttribute")
        cublasLtMatrixLayoutCreate = try l.symbol("cublasLtMatrixLayoutCreate")
        cublasLtMatrixLayoutDestroy = try l.symbol("cublasLtMatrixLayoutDestroy")
        cublasLtMatrixLayoutSetAttribute = try l.symbol("cublasLtMatrixLayoutSetAttribute")
        cublasLtMatmulPreferenceCreate = try l.symbol("cublasLtMatmulPreferenceCreate")
        cublasLtMatmulPreferenceDestroy = try l.symbol("cublasLtMatmulPreferenceDestroy")
        cublasLtMatmulPreferenceSetAttribute = try l.symbol("cublasLtMatmulPreferenceSetAttribute")
        cublasLtMatmulAlgoGetHeuristic = try l.symbol("cublasLtMatmulAlgoGetHeuristic")
        cublasLtMatmulAlgoCheck = try l.symbol("cublasLtMatmulAlgoCheck")
        cublasLtMatmul = try l.symbol("cublasLtMatmul")
    }

    func check(_ status: cublasStatus_t, _ call: @autoclosure () -> String) throws {
        guard status != 0 else { return }
        let name = cublasLtGetStatusName(status).map { String(cString: $0) } ?? "CUBLAS_STATUS_\(status)"
        throw CUDAError.cublas(call: call(), code: status, name: name)
    }

    /// cublasLtGetVersion as major.minor.patch (e.g. 130100 -> 13.1.0).
    var versionString: String {
        let v = cublasLtGetVersion()
        return "\(v / 10000).\((v / 100) % 100).\(v % 100)"
    }
}

extension BLASLtAPI {
    private static let loaded: Result<BLASLtAPI, CUDAError> = {
        do { return .success(try BLASLtAPI()) } catch let error as CUDAError { return .failure(error) } catch {
            return .failure(.unsupported(op: "cublasLt", detail: "\(error)"))
        }
    }()

    static func loadShared() throws -> BLASLtAPI { try loaded.get() }
}
