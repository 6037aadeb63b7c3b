import Foundation
import Testing
import UniNLUCore
import UniNLUCPU
@testable import UniNLUCUDA

// CPU twins of the CUDA DeBERTa kernels: the host-side staging (work items, row spans, Z offsets,
// the im2col weight layout) fed to a line-by-line Swift transcription of each kernel's index math,
// compared with the CPU backend. Catches layout and indexing mistakes without a GPU.

struct TwinRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func float(_ low: Float = -1, _ high: Float = 1) -> Float { low + (high - low) * Float(next() >> 40) / Float(1 << 24) }
    mutating func floats(_ count: Int, _ low: Float = -1, _ high: Float = 1) -> [Float] { (0..<count).map { _ in float(low, high) } }
    mutating func int(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
}

@Suite("CUDA DeBERTa kernels: CPU twins of the index math")
struct DebertaKernelTwinTests {
    /// `disentangled_attention_impl` transcribed: blocks over work items, warps of QPW queries, the
    /// pair index `base + (query - seqStart) * len + key`, Qr/Kr rows at `r * relColumns + head * D` (+H).
    static func emulateDisentangled(qkv: [Float], rel: [Float], relColumns: Int, layout: DisentangledAttentionLayout, heads: Int, d: Int,
                                    narrow: Bool) -> [Float] {
        let items = narrow ? DisentangledAttentionOp.workItems(layout, queriesPerItem: DisentangledAttentionKernel.queriesPerWarp)
            : DisentangledAttentionOp.workItems(layout)
        let warps = narrow ? 1 : DisentangledAttentionKernel.warpsPerBlock
        let h = heads * d, ld = 3 * h
        let qpw = DisentangledAttentionKernel.queriesPerWarp
        var out = [Float](repeating: .nan, count: layout.sequences.totalRows * h)
        let scale = 1 / (Float(d) * 3).squareRoot()
        for block in 0..<(items.count / 8) {
            let seqStart = Int(items[8 * block]), len = Int(items[8 * block + 1]), firstQuery = Int(items[8 * block + 2])
            let count = Int(items[8 * block + 3]), base = Int(items[8 * block + 4])
            for head in 0..<heads {
                for warp in 0..<warps {
                    let qFirst = firstQuery + warp * qpw, qEnd = firstQuery + count
                    guard qFirst < qEnd else { continue }
                    for q in 0..<min(qpw, qEnd - qFirst) {
                        let row = qFirst + q
                        var p = [Float](repeating: -.infinity, count: len)
                        for j in 0..<len {
                            let pair = base + (row - seqStart) * len + j
                            guard layout.mask[pair] != 0 else { continue }
                            let r = layout.relativeRow(query: row, key: seqStart + j)
                            var s: Float = 0
                            for e in 0..<d {
                                let qv = qkv[row * ld + head * d + e], kv = qkv[(seqStart + j) * ld + h + head * d + e]
                                let qr = rel[r * relColumns + head * d + e], kr = rel[r * relColumns + head * d + h + e]
                                s += qv * (kv + kr) + kv * qr
                            }
                            p[j] = s * scale
                        }
                        let mx = p.max() ?? -.infinity
                        var sum: Float = 0
                        for j in 0..<len { p[j] = p[j] == -.infinity ? 0 : expf(p[j] - mx); sum += p[j] }
                        let inv: Float = sum > 0 ? 1 / sum : 0
                        for e in 0..<d {
                            var acc: Float = 0
                            for j in 0..<len { acc += p[j] * qkv[(seqStart + j) * ld + 2 * h + head * d + e] }
                            out[row * h + head * d + e] = acc * inv
                        }
                    }
                }
            }
        }
        return out
    }

    @Test("relative_index_build: one block per (query, sequence), threads over keys, gives layout.relativeRow for every pair")
    func relativeIndexBuildTwin() throws {
        var rng = TwinRandom(state: 42)
        let lengths = [1, 37, 5, 130], span = 16
        let positions = lengths.flatMap { n in (0..<n).map { i in Int32(i < n / 2 ? i % 7 : 40 + rng.int(60)) } }
        let pairs = lengths.reduce(0) { $0 + $1 * $1 }
        let layout = try DisentangledAttentionLayout(
            sequences: PackedSequences(lengths: lengths), mask: [UInt8](repeating: 1, count: pairs), positions: positions,
            relativeRows: 2 * span) { RelativeTwinMode.bucketed.row($0, 0, span: span) }
        // The kernel's sequence table (start, length, matrixOffset, 0) and its grid (maxLength, sequences) x 128 threads.
        let sequences = layout.sequences
        var index = [Int32](repeating: -1, count: pairs)
        for s in 0..<sequences.count {
            let start = sequences.offsets[s], len = sequences.length(of: s), offset = layout.matrixOffsets[s]
            for i in 0..<sequences.maxLength where i < len {
                let qDist = Int(layout.positions[start + i]) + layout.reach
                for thread in 0..<128 {
                    var j = thread
                    while j < len {
                        index[offset + i * len + j] = layout.distanceRows[qDist - Int(layout.positions[start + j])]
                        j += 128
                    }
                }
            }
        }
        for s in 0..<sequences.count {
            let start = sequences.offsets[s], len = sequences.length(of: s), offset = layout.matrixOffsets[s]
            for i in 0..<len {
                for j in 0..<len {
                    #expect(Int(index[offset + i * len + j]) == layout.relativeRow(query: start + i, key: start + j))
                    #expect(index[offset + i * len + j] == RelativeTwinMode.bucketed.row(positions[start + i], positions[start + j], span: span))
                }
            }
        }
    }

    @Test("disentangled attention: work items and gathers reproduce the CPU op (raw and log-bucketed indices, fully masked rows)",
          arguments: [([1, 7, 40], 2, 16, 0), ([33, 5], 3, 32, 1), ([17], 1, 64, 2)])
    func disentangledTwin(lengths: [Int], heads: Int, d: Int, seed: UInt64) throws {
        var rng = TwinRandom(state: seed)
        let h = heads * d, total = lengths.reduce(0, +), span = 8
        let qkv = rng.floats(total * 3 * h, -2, 2)
        let rel = rng.floats(2 * span * 3 * h, -2, 2)
        var mask: [UInt8] = [], allPositions: [Int32] = []
        let modes: [RelativeTwinMode] = [.raw, .bucketed]
        for n in lengths {
            let positions = (0..<n).map { _ in Int32(rng.int(30)) }
            allPositions += positions
            let masked = n > 2 ? rng.int(n) : -1
            for i in 0..<n {
                for j in 0..<n {
                    mask.append(i == masked || rng.int(4) == 0 ? 0 : 1)
                }
            }
        }
        let layout = try DisentangledAttentionLayout(
            sequences: PackedSequences(lengths: lengths), mask: mask, positions: allPositions, relativeRows: 2 * span
        ) { modes[Int(seed % 2)].row($0, 0, span: span) }
        let reference = DisentangledAttention.apply(
            qkv: CPUMatrix(rows: total, columns: 3 * h, values: qkv), positions: CPUMatrix(rows: 2 * span, columns: 3 * h, values: rel),
            layout: layout, heads: heads, headSize: d)
        for narrow in [false, true] {
            let twin = Self.emulateDisentangled(qkv: qkv, rel: rel, relColumns: 3 * h, layout: layout, heads: heads, d: d, narrow: narrow)
            #expect(!twin.contains { $0.isNaN }, "every output element written by some block (narrow \(narrow))")
            #expect(maxAbsDifference(twin, reference.values) < 1e-4, "narrow \(narrow)")
        }
    }

    /// `disentangled_attention_mma_d64` transcribed at tile level: per warp 16 queries, keys in blocks of
    /// 16, the relative-row window [lo, hi] of the tile's unmasked pairs, C2P/P2C tables of
    /// ceil((hi-lo+1)/8)·8 columns (rows clamped to the table) when hi - lo < 64, else direct dot
    /// products; online softmax per row; all-masked rows give zeros.
    static func emulateTensorCore(qkv: [Float], rel: [Float], relColumns: Int, relRows: Int, layout: DisentangledAttentionLayout, heads: Int,
                                  narrow: Bool, window: Int, split: Int = 1, windowsUsed: inout (tables: Int, direct: Int)) -> [Float] {
        let d = 64, h = heads * d, ld = 3 * h
        let perWarp = DisentangledAttentionKernel.tensorCoreQueriesPerWarp
        let items = DisentangledAttentionOp.workItems(layout, queriesPerItem: narrow ? perWarp : 4 * perWarp)
        let scale = 1 / (Float(d) * 3).squareRoot()
        var out = [Float](repeating: .nan, count: layout.sequences.totalRows * h)
        func dot(_ a: Int, _ b: Int) -> Float { (0..<d).reduce(Float(0)) { $0 + qkv[a + $1] * rel[b + $1] } }
        for block in 0..<(items.count / 8) {
            let seqStart = Int(items[8 * block]), len = Int(items[8 * block + 1]), first = Int(items[8 * block + 2])
            let count = Int(items[8 * block + 3]), base = Int(items[8 * block + 4])
            for head in 0..<heads {
                // split > 1 (narrow items only): the warps share the item's queries and take every
                // split-th 16-key tile; their (m, l, o) partials are merged at the end.
                var partials: [(m: [Float], l: [Float], o: [[Float]])] = []
                for warp in 0..<(split > 1 ? split : narrow ? 1 : 4) {
                    let q0 = first + (split > 1 ? 0 : warp * perWarp), qEnd = first + count
                    guard q0 < qEnd else { continue }
                    var m = [Float](repeating: -.infinity, count: 16), l = [Float](repeating: 0, count: 16)
                    var o = [[Float]](repeating: [Float](repeating: 0, count: d), count: 16)
                    var kb = split > 1 ? warp * 16 : 0
                    while kb < len {
                        var delta = [[Int]](repeating: [Int](repeating: -1, count: 16), count: 16)
                        var lo = Int.max, hi = -1
                        for qi in 0..<16 where q0 + qi < qEnd {
                            for kj in 0..<16 where kb + kj < len {
                                let pair = base + (q0 + qi - seqStart) * len + kb + kj
                                guard layout.mask[pair] != 0 else { continue }
                                let r = layout.relativeRow(query: q0 + qi, key: seqStart + kb + kj)
                                delta[qi][kj] = r
                                lo = min(lo, r); hi = max(hi, r)
                            }
                        }
                        let tables = hi >= lo && hi - lo < window
                        var c2p = [[Float]](repeating: [Float](repeating: 0, count: 64), count: 16), p2c = c2p
                        if tables {
                            windowsUsed.tables += 1
                            for nt in 0..<((hi - lo) / 8 + 1) {
                                for gg in 0..<8 {
                                    let relRow = min(lo + nt * 8 + gg, relRows - 1)
                                    for x in 0..<16 {
                                        let qRow = min(q0 + x, qEnd - 1), kRow = seqStart + min(kb + x, len - 1)
                                        c2p[x][nt * 8 + gg] = dot(qRow * ld + head * d, relRow * relColumns + h + head * d) * scale
                                        p2c[x][nt * 8 + gg] = dot(kRow * ld + h + head * d, relRow * relColumns + head * d) * scale
                                    }
                                }
                            }
                        } else if hi >= lo {
                            windowsUsed.direct += 1
                        }
                        for qi in 0..<16 {
                            var sRow = [Float](repeating: -.infinity, count: 16)
                            for kj in 0..<16 where delta[qi][kj] >= 0 {
                                let r = delta[qi][kj]
                                let qRow = q0 + qi, kRow = seqStart + kb + kj
                                var s: Float = 0
                                for x in 0..<d { s += qkv[qRow * ld + head * d + x] * qkv[kRow * ld + h + head * d + x] }
                                s *= scale
                                if tables {
                                    s += c2p[qi][r - lo] + p2c[kj][r - lo]
                                } else {
                                    s += (dot(qRow * ld + head * d, r * relColumns + h + head * d) + dot(kRow * ld + h + head * d, r * relColumns + head * d)) * scale
                                }
                                sRow[kj] = s
                            }
                            let blockMax = sRow.max() ?? -.infinity
                            let newMax = max(m[qi], blockMax)
                            let correction: Float = newMax == -.infinity ? 1 : expf(m[qi] - newMax)
                            m[qi] = newMax
                            var sum: Float = 0
                            var p = [Float](repeating: 0, count: 16)
                            for kj in 0..<16 where sRow[kj] != -.infinity { p[kj] = expf(sRow[kj] - newMax); sum += p[kj] }
                            l[qi] = l[qi] * correction + sum
                            for x in 0..<d {
                                var acc = o[qi][x] * correction
                                for kj in 0..<16 where p[kj] != 0 { acc += p[kj] * qkv[(seqStart + kb + kj) * ld + 2 * h + head * d + x] }
                                o[qi][x] = acc
                            }
                        }
                        kb += 16 * split
                    }
                    if split > 1 { partials.append((m, l, o)); continue }
                    for qi in 0..<16 where q0 + qi < qEnd {
                        let inv: Float = l[qi] > 0 ? 1 / l[qi] : 0
                        for x in 0..<d { out[(q0 + qi) * h + head * d + x] = o[qi][x] * inv }
                    }
                }
                // The split kernel's merge: weights exp(m_w - M), a warp that saw no key weighs 0.
                for qi in 0..<16 where split > 1 && first + qi < first + count {
                    let top = partials.map { $0.m[qi] }.max() ?? -.infinity
                    let weights = partials.map { $0.m[qi] == -.infinity ? Float(0) : expf($0.m[qi] - top) }
                    let total = zip(partials, weights).reduce(Float(0)) { $0 + $1.0.l[qi] * $1.1 }
                    let inv: Float = total > 0 ? 1 / total : 0
                    for x in 0..<d {
                        out[(first + qi) * h + head * d + x] = zip(partials, weights).reduce(Float(0)) { $0 + $1.0.o[qi][x] * $1.1 } * inv
                    }
                }
            }
        }
        return out
    }

    @Test("tensor-core disentangled attention: tiles, relative-row windows (tables and the direct fallback) reproduce the CPU op",
          arguments: [([37, 5, 70], 1, 0), ([20, 64], 2, 1)])
    func tensorCoreTwin(lengths: [Int], heads: Int, seed: UInt64) throws {
        var rng = TwinRandom(state: seed + 100)
        let d = 64, h = heads * d, total = lengths.reduce(0, +), span = 48
        let qkv = rng.floats(total * 3 * h, -1, 1)
        let rel = rng.floats(2 * span * 3 * h, -1, 1)
        var mask: [UInt8] = [], allPositions: [Int32] = []
        for n in lengths {
            // Rex-like position ids: blocks that restart, plus a far jump (wide windows take the direct path).
            let positions = (0..<n).map { i in Int32(i < n / 2 ? i % 9 : (i % 3 == 0 ? 90 + i : i)) }
            allPositions += positions
            let masked = n > 2 ? rng.int(n) : -1
            for i in 0..<n {
                for j in 0..<n {
                    mask.append(i == masked || rng.int(5) == 0 ? 0 : 1)
                }
            }
        }
        let layout = try DisentangledAttentionLayout(
            sequences: PackedSequences(lengths: lengths), mask: mask, positions: allPositions, relativeRows: 2 * span
        ) { (seed % 2 == 0 ? RelativeTwinMode.raw : .bucketed).row($0, 0, span: span) }
        let reference = DisentangledAttention.apply(
            qkv: CPUMatrix(rows: total, columns: 3 * h, values: qkv), positions: CPUMatrix(rows: 2 * span, columns: 3 * h, values: rel),
            layout: layout, heads: heads, headSize: d)
        for (narrow, window, split) in [(false, DisentangledAttentionKernel.tensorCoreWindow, 1), (true, DisentangledAttentionKernel.tensorCoreWindow, 1),
                                        (true, DisentangledAttentionKernel.tensorCoreWindow, DisentangledAttentionKernel.splitWarps),
                                        (true, DisentangledAttentionKernel.relativeStagedTensorCoreWindow, DisentangledAttentionKernel.splitStagedWarps),
                                        (false, DisentangledAttentionKernel.stagedTensorCoreWindow, 1),
                                        (false, DisentangledAttentionKernel.relativeStagedTensorCoreWindow, 1)] {
            var windows = (tables: 0, direct: 0)
            let twin = Self.emulateTensorCore(qkv: qkv, rel: rel, relColumns: 3 * h, relRows: 2 * span, layout: layout, heads: heads,
                                              narrow: narrow, window: window, split: split, windowsUsed: &windows)
            #expect(!twin.contains { $0.isNaN }, "every output element written (narrow \(narrow))")
            #expect(maxAbsDifference(twin, reference.values) < 1e-4, "narrow \(narrow)")
            #expect(windows.tables > 0, "some tiles use the C2P/P2C tables")
            if seed % 2 == 0 { #expect(windows.direct > 0, "some tiles take the direct path") }
        }
    }

    @Test("the windows and split the twin uses are the kernels' template arguments")
    func windowsMatchSource() {
        let source = DisentangledAttentionKernel.source
        #expect(source.contains("datt_mma_impl<false, \(DisentangledAttentionKernel.tensorCoreWindow), 1, false, false>"))
        #expect(source.contains("datt_mma_impl<false, \(DisentangledAttentionKernel.tensorCoreWindow), \(DisentangledAttentionKernel.splitWarps), false, false>"))
        #expect(source.contains("datt_mma_impl<true, \(DisentangledAttentionKernel.stagedTensorCoreWindow), 1, false, false>"))
        #expect(source.contains("datt_mma_impl<true, \(DisentangledAttentionKernel.relativeStagedTensorCoreWindow), 1, true, true>"))
        // The wide default: the same tile math, its indices and rows fetched one tile ahead.
        #expect(source.contains("datt_mma_impl<true, \(DisentangledAttentionKernel.relativeStagedTensorCoreWindow), 1, true, true, true>"))
        #expect(source.contains("datt_mma_impl<true, \(DisentangledAttentionKernel.relativeStagedTensorCoreWindow), \(DisentangledAttentionKernel.splitStagedWarps), true, false>"))
        #expect(source.contains("__launch_bounds__(\(32 * DisentangledAttentionKernel.splitStagedWarps)) disentangled_attention_tcs_d64"))
        #expect(source.contains("c2p + 16 * 40") && source.contains("RELSTAGED ? 40 :"), "the staged-relative kernel's table rows")
        #expect(source.contains("tables[4][2][16 * \(DisentangledAttentionKernel.tensorCoreWindow + 1)]"))
        #expect(source.contains("tables[4][2][16 * \(DisentangledAttentionKernel.stagedTensorCoreWindow + 1)]"))
    }

    @Test("conv: im2col rows (zero past each sequence boundary) times the tap-major weight equal the CPU convolution",
          arguments: [([1, 7, 12], 5, 3), ([4, 9], 3, 5), ([6], 4, 1)])
    func convolutionTwin(lengths: [Int], width: Int, kernelSize: Int) throws {
        var rng = TwinRandom(state: UInt64(width * 31 + kernelSize))
        let total = lengths.reduce(0, +)
        let x = rng.floats(total * width), residual = rng.floats(total * width)
        let weight = rng.floats(width * width * kernelSize), bias = rng.floats(width)
        let sequences = PackedSequences(lengths: lengths)
        let reference = CPUConvolution(weight: weight, bias: bias, outChannels: width, inChannels: width, kernelSize: kernelSize)
            .apply(CPUMatrix(rows: total, columns: width, values: x), offsets: sequences.offsets, gelu: false,
                   residual: CPUMatrix(rows: total, columns: width, values: residual))
        // conv_im2col transcribed
        let spans = ConvolutionOp.rowSpans(sequences)
        let pad = (kernelSize - 1) / 2, columns = kernelSize * width
        var cols = [Float](repeating: 0, count: total * columns)
        for r in 0..<total {
            for e in 0..<columns {
                let t = e / width, c = e - t * width, src = r + t - pad
                cols[r * columns + e] = src >= Int(spans[2 * r]) && src < Int(spans[2 * r + 1]) ? x[src * width + c] : 0
            }
        }
        let w = CUDAConvolution.im2colWeight(weight, outChannels: width, inChannels: width, kernelSize: kernelSize)
        var y = [Float](repeating: 0, count: total * width)
        for r in 0..<total {
            for o in 0..<width {
                var acc = bias[o]
                for e in 0..<columns { acc += cols[r * columns + e] * w[o * columns + e] }
                y[r * width + o] = acc + residual[r * width + o]
            }
        }
        #expect(maxAbsDifference(y, reference.values) < 1e-4)
    }

    @Test("rotary pair scores: rotate + per-sequence tiles at zOffsets equal the CPU op", arguments: [([1, 7, 20], 8, 4), ([5, 3], 12, 2)])
    func rotaryTwin(lengths: [Int], width: Int, pairs: Int) throws {
        var rng = TwinRandom(state: UInt64(width + pairs))
        let total = lengths.reduce(0, +)
        let qk = rng.floats(total * 2 * width)
        let positions = (0..<total).map { _ in Int32(rng.int(100)) }
        let frequencies = (0..<pairs).map { m in Float(pow(10_000.0, -2.0 * Double(m) / Double(width))) }
        let sequences = PackedSequences(lengths: lengths)
        let reference = RotaryPairScores.apply(CPUMatrix(rows: total, columns: 2 * width, values: qk), positions: positions,
                                               frequencies: frequencies, offsets: sequences.offsets)
        // rotary_rotate transcribed
        var q = [Float](repeating: 0, count: total * width), k = q
        for r in 0..<total {
            for d in 0..<width {
                if d < 2 * pairs {
                    let m = d >> 1, angle = Float(positions[r]) * frequencies[m], c = cosf(angle), s = sinf(angle)
                    let qa = qk[r * 2 * width + 2 * m], qb = qk[r * 2 * width + 2 * m + 1]
                    let ka = qk[r * 2 * width + width + 2 * m], kb = qk[r * 2 * width + width + 2 * m + 1]
                    q[r * width + d] = d & 1 == 0 ? qa * c - qb * s : qb * c + qa * s
                    k[r * width + d] = d & 1 == 0 ? ka * c - kb * s : kb * c + ka * s
                } else {
                    q[r * width + d] = qk[r * 2 * width + d]
                    k[r * width + d] = qk[r * 2 * width + width + d]
                }
            }
        }
        // pair_scores transcribed (tiles of 16; blocks past a sequence's length return)
        let zOffsets = RotaryPairScoresOp.zOffsets(sequences)
        var z = [Float](repeating: .nan, count: Int(zOffsets[sequences.count]))
        let tiles = (sequences.maxLength + 15) / 16
        for s in 0..<sequences.count {
            let start = sequences.offsets[s], n = sequences.offsets[s + 1] - start
            for by in 0..<tiles where by * 16 < n {
                for bx in 0..<tiles where bx * 16 < n {
                    for ty in 0..<16 {
                        for tx in 0..<16 {
                            let i = by * 16 + ty, j = bx * 16 + tx
                            guard i < n, j < n else { continue }
                            var acc: Float = 0
                            for p in 0..<width { acc += q[(start + i) * width + p] * k[(start + j) * width + p] }
                            z[Int(zOffsets[s]) + i * n + j] = acc
                        }
                    }
                }
            }
        }
        #expect(!z.contains { $0.isNaN })
        #expect(maxAbsDifference(z, reference.flatMap { $0 }) < 1e-4)
    }
}

/// The two relative-position paths, as the model graph computes the index (see RelativePositionMode).
enum RelativeTwinMode {
    case raw, bucketed
    func row(_ pi: Int32, _ pj: Int32, span: Int) -> Int32 {
        var r = Int(pi) - Int(pj)
        if case .bucketed = self {
            // HF log buckets with buckets 8 (mid 4), max position 32.
            let mid = 4, maxPosition = 32
            let magnitude = r < mid && r > -mid ? mid - 1 : abs(r)
            if magnitude > mid {
                let scaled = logf(Float(magnitude) / Float(mid)) / logf(Float(Double(maxPosition - 1) / Double(mid))) * Float(mid - 1)
                let logPosition = Int(scaled.rounded(.up)) + mid
                r = r < 0 ? -logPosition : logPosition
            }
        }
        return Int32(min(max(r + span, 0), 2 * span - 1))
    }
}
