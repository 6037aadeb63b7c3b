import CCUDA

// A dlopen'ed library and typed symbol lookup. Libraries stay loaded for the process's life.

final class DynamicLibrary: @unchecked Sendable {
    // @unchecked: the handle is immutable and dlsym is thread-safe.
    let name: String
    let path: String
    private let handle: UnsafeMutableRawPointer

    /// Opens the first of `candidates` that loads; throws `libraryNotFound` naming every candidate.
    init(name: String, candidates: [String]) throws {
        var reasons: [String] = []
        for candidate in candidates {
            if let handle = uninlu_dlopen(candidate) {
                self.name = name
                self.path = candidate
                self.handle = handle
                return
            }
            reasons.append(uninlu_dlerror().map { String(cString: $0) } ?? "not found")
        }
        throw CUDAError.libraryNotFound(library: name, tried: candidates, reason: reasons.last ?? "not found")
    }

    func symbol<T>(_ symbol: String, as type: T.Type = T.self) throws -> T {
        guard let pointer = uninlu_dlsym(handle, symbol) else {
            throw CUDAError.missingSymbol(library: name, symbol: symbol)
        }
        return unsafeBitCast(pointer, to: type)
    }

    func optionalSymbol<T>(_ symbol: String, as type: T.Type = T.self) -> T? {
        uninlu_dlsym(handle, symbol).map { unsafeBitCast($0, to: type) }
    }
}
