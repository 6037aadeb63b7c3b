#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The few x86-64 instructions the AVX2 GEMM micro-kernel needs, encoded by hand (VEX for the
// vector ones, REX for the integer ones), plus the W^X dance that makes the bytes callable.
// Why: Swift has no per-function target attribute, and the binary must run on any x86-64, so the
// AVX2/FMA kernel is generated at run time once the CPU says it has those features (the
// oneDNN/Xbyak approach, at the size of one loop). Encodings: Intel SDM vol. 2, §2.3 (VEX).

struct X86Assembler {
    enum Register: UInt8 { case rax = 0, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11 }

    private(set) var bytes: [UInt8] = []

    private var fixups: [(at: Int, label: Int)] = []
    private var labels: [Int?] = []

    /// A new jump target, bound later with `bind`.
    mutating func makeLabel() -> Int {
        labels.append(nil)
        return labels.count - 1
    }

    mutating func bind(_ label: Int) { labels[label] = bytes.count }

    // MARK: VEX-encoded AVX/AVX2/FMA (256-bit)

    /// Three-byte VEX prefix. `map`: 1 = 0F, 2 = 0F38. `pp`: 0 = none, 1 = 66. Register numbers are
    /// 0-15; `vvvv` = 0 means "unused" (the field stores the inverted value 1111).
    private mutating func vex(reg: UInt8, vvvv: UInt8, rm: UInt8, map: UInt8, pp: UInt8) {
        var byte1 = map & 0x1F
        if reg & 8 == 0 { byte1 |= 0x80 }  // R̄
        byte1 |= 0x40  // X̄: never an index register
        if rm & 8 == 0 { byte1 |= 0x20 }  // B̄
        let byte2 = ((~vvvv & 0xF) << 3) | 0x04 | (pp & 3)  // W = 0, L = 1 (256-bit)
        bytes += [0xC4, byte1, byte2]
    }

    /// ModRM (+ displacement) for `[base + displacement]`; rsp/r12 (SIB) and rbp/r13 with no
    /// displacement (RIP-relative) are avoided by construction.
    private mutating func memory(reg: UInt8, base: Register, displacement: Int) {
        let b = base.rawValue & 7
        precondition(b != 4, "rsp/r12 as a base needs a SIB byte, which this assembler does not emit")
        if displacement == 0 && b != 5 {
            bytes.append((reg & 7) << 3 | b)
        } else if let d8 = Int8(exactly: displacement) {
            bytes += [0x40 | (reg & 7) << 3 | b, UInt8(bitPattern: d8)]
        } else {
            bytes.append(0x80 | (reg & 7) << 3 | b)
            appendInt32(Int32(displacement))
        }
    }

    private mutating func registerDirect(reg: UInt8, rm: UInt8) {
        bytes.append(0xC0 | (reg & 7) << 3 | (rm & 7))
    }

    /// vxorps ymm(d), ymm(a), ymm(b)
    mutating func vxorps(_ d: UInt8, _ a: UInt8, _ b: UInt8) {
        vex(reg: d, vvvv: a, rm: b, map: 1, pp: 0)
        bytes.append(0x57)
        registerDirect(reg: d, rm: b)
    }

    /// vmovups ymm(d), [base + displacement]
    mutating func vmovupsLoad(_ d: UInt8, _ base: Register, _ displacement: Int) {
        vex(reg: d, vvvv: 0, rm: base.rawValue, map: 1, pp: 0)
        bytes.append(0x10)
        memory(reg: d, base: base, displacement: displacement)
    }

    /// vmovups [base + displacement], ymm(s)
    mutating func vmovupsStore(_ base: Register, _ displacement: Int, _ s: UInt8) {
        vex(reg: s, vvvv: 0, rm: base.rawValue, map: 1, pp: 0)
        bytes.append(0x11)
        memory(reg: s, base: base, displacement: displacement)
    }

    /// vbroadcastss ymm(d), dword [base + displacement]
    mutating func vbroadcastss(_ d: UInt8, _ base: Register, _ displacement: Int) {
        vex(reg: d, vvvv: 0, rm: base.rawValue, map: 2, pp: 1)
        bytes.append(0x18)
        memory(reg: d, base: base, displacement: displacement)
    }

    /// vfmadd231ps ymm(d), ymm(a), ymm(b): d += a * b
    mutating func vfmadd231ps(_ d: UInt8, _ a: UInt8, _ b: UInt8) {
        vex(reg: d, vvvv: a, rm: b, map: 2, pp: 1)
        bytes.append(0xB8)
        registerDirect(reg: d, rm: b)
    }

    /// vaddps ymm(d), ymm(a), [base + displacement]
    mutating func vaddps(_ d: UInt8, _ a: UInt8, _ base: Register, _ displacement: Int) {
        vex(reg: d, vvvv: a, rm: base.rawValue, map: 1, pp: 0)
        bytes.append(0x58)
        memory(reg: d, base: base, displacement: displacement)
    }

    mutating func vzeroupper() { bytes += [0xC5, 0xF8, 0x77] }

    // MARK: Integer

    private mutating func rex(reg: UInt8 = 0, rm: UInt8) {
        bytes.append(0x48 | ((reg & 8) >> 1) | ((rm & 8) >> 3))  // REX.W, R, B
    }

    /// add r, imm
    mutating func add(_ r: Register, _ immediate: Int32) {
        rex(rm: r.rawValue)
        if let i8 = Int8(exactly: immediate) {
            bytes += [0x83, 0xC0 | (r.rawValue & 7), UInt8(bitPattern: i8)]
        } else {
            bytes += [0x81, 0xC0 | (r.rawValue & 7)]
            appendInt32(immediate)
        }
    }

    /// add d, s
    mutating func add(_ d: Register, _ s: Register) {
        rex(reg: s.rawValue, rm: d.rawValue)
        bytes.append(0x01)
        registerDirect(reg: s.rawValue, rm: d.rawValue)
    }

    /// mov d, s
    mutating func mov(_ d: Register, _ s: Register) {
        rex(reg: s.rawValue, rm: d.rawValue)
        bytes.append(0x89)
        registerDirect(reg: s.rawValue, rm: d.rawValue)
    }

    /// shr r, imm8
    mutating func shr(_ r: Register, _ count: UInt8) {
        rex(rm: r.rawValue)
        bytes += [0xC1, 0xE8 | (r.rawValue & 7), count]
    }

    /// and r, imm8 (sign-extended)
    mutating func and(_ r: Register, _ immediate: Int8) {
        rex(rm: r.rawValue)
        bytes += [0x83, 0xE0 | (r.rawValue & 7), UInt8(bitPattern: immediate)]
    }

    /// dec r
    mutating func dec(_ r: Register) {
        rex(rm: r.rawValue)
        bytes += [0xFF, 0xC8 | (r.rawValue & 7)]
    }

    /// test r, r
    mutating func test(_ r: Register) {
        rex(reg: r.rawValue, rm: r.rawValue)
        bytes.append(0x85)
        registerDirect(reg: r.rawValue, rm: r.rawValue)
    }

    /// prefetcht0 [base + displacement]
    mutating func prefetcht0(_ base: Register, _ displacement: Int) {
        if base.rawValue & 8 != 0 { bytes.append(0x41) }
        bytes += [0x0F, 0x18]
        memory(reg: 1, base: base, displacement: displacement)
    }

    mutating func jnz(_ label: Int) { jump([0x0F, 0x85], label) }
    mutating func jz(_ label: Int) { jump([0x0F, 0x84], label) }
    mutating func jmp(_ label: Int) { jump([0xE9], label) }
    mutating func ret() { bytes.append(0xC3) }

    private mutating func jump(_ opcode: [UInt8], _ label: Int) {
        bytes += opcode
        fixups.append((bytes.count, label))
        appendInt32(0)
    }

    private mutating func appendInt32(_ value: Int32) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    /// The finished code with every jump resolved (rel32 from the end of the jump instruction).
    func assembled() -> [UInt8] {
        var code = bytes
        for fixup in fixups {
            guard let target = labels[fixup.label] else { preconditionFailure("unbound label \(fixup.label)") }
            let relative = Int32(target - (fixup.at + 4))
            withUnsafeBytes(of: relative.littleEndian) { raw in
                for i in 0..<4 { code[fixup.at + i] = raw[i] }
            }
        }
        return code
    }
}

/// Machine code copied into its own pages and made read+execute (never writable and executable at
/// once). Lives for the whole process.
enum ExecutableMemory {
    /// Returns the address of the code, or nil where the OS refuses executable mappings.
    static func install(_ code: [UInt8]) -> UnsafeRawPointer? {
        #if os(Linux) && arch(x86_64)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let size = (code.count + page - 1) / page * page
        guard let mapping = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapping != MAP_FAILED
        else { return nil }
        code.withUnsafeBytes { mapping.copyMemory(from: $0.baseAddress!, byteCount: code.count) }
        guard mprotect(mapping, size, PROT_READ | PROT_EXEC) == 0 else {
            munmap(mapping, size)
            return nil
        }
        return UnsafeRawPointer(mapping)
        #else
        return nil
        #endif
    }
}
