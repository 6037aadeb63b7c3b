import Foundation
import Testing
import UniNLUCore
import UniNLUCPU
@testable import UniNLUCUDA

// CPU twin of the BERT wide attention kernel `attention_tc_k64_d64`: the host's 64-query work items
// (AttentionOp.workItems) walked as the kernel walks them (4 warps of 16 queries a block, keys in
// 64-key tiles with a partial last tile, scores in log2 units with the running maximum and sum
// rescaled once a tile, a sequence whose keys are all masked averaging V), compared with the CPU
// op. Catches tiling, masking and rescaling mistakes without a GPU; `uninlu check` runs the kernel.

@Suite("CUDA attention kernels: CPU twin of the 64-key-tile walk")
struct AttentionKernelTwinTests {
    static func emulateKeyTile64(qkv: [Float], sequences: PackedSequences, heads: Int) -> [Float] {
        let d = 64, h = heads * d, ld = 3 * h
        let tile = AttentionKeyTile64Kernel.keysPerTile
        let items = AttentionOp.workItems(sequences, perBlock: AttentionKernel.tensorCoreQueriesPerBlock)
        let scale = 1 / Float(d).squareRoot()
        let log2e: Float = 1.4426950408889634
        var out = [Float](repeating: .nan, count: sequences.totalRows * h)
        for block in 0..<(items.count / 4) {
            let seqStart = Int(items[4 * block]), len = Int(items[4 * block + 1])
            let first = Int(items[4 * block + 2]), qEnd = first + Int(items[4 * block + 3])
            for head in 0..<heads {
                for warp in 0..<AttentionKernel.warpsPerBlock {
                    let q0 = first + 16 * warp
                    guard q0 < qEnd else { continue }
                    for row in q0..<min(q0 + 16, qEnd) {
                        var m = -Float.infinity, l: Float = 0
                        var o = [Float](repeating: 0, count: d)
                        var anyKey = false
                        var kb = 0
                        while kb < len {
                            // One tile: its scores (log2 units), the tile maximum, one rescale.
                            var s = [Float](repeating: -.infinity, count: tile)
                            for j in 0..<tile where kb + j < len && (sequences.keyMask?[seqStart + kb + j] ?? 1) != 0 {
                                var dot: Float = 0
                                for x in 0..<d { dot += qkv[row * ld + head * d + x] * scale * log2e * qkv[(seqStart + kb + j) * ld + h + head * d + x] }
                                s[j] = dot
                            }
                            let tileMax = s.max() ?? -.infinity
                            if tileMax != -.infinity { anyKey = true }
                            let newMax = max(m, tileMax)
                            let correction: Float = newMax == -.infinity ? 1 : exp2f(m - newMax)
                            m = newMax
                            for x in 0..<d { o[x] *= correction }
                            var sum: Float = 0
                            for j in 0..<tile where s[j] != -.infinity {
                                let p = exp2f(s[j] - m)
                                sum += p
                                for x in 0..<d { o[x] += p * qkv[(seqStart + kb + j) * ld + 2 * h + head * d + x] }
                            }
                            l = l * correction + sum
                            kb += tile
                        }
                        if !anyKey {
                            o = [Float](repeating: 0, count: d)
                            for j in 0..<len { for x in 0..<d { o[x] += qkv[(seqStart + j) * ld + 2 * h + head * d + x] } }
                            l = Float(len)
                        }
                        for x in 0..<d { out[row * h + head * d + x] = o[x] / l }
                    }
                }
            }
        }
        return out
    }

    @Test("64-key tiles: partial last tiles, masked keys and a fully masked sequence reproduce the CPU op",
          arguments: [[100, 3, 64, 65, 130], [200, 1, 7]])
    func keyTile64Twin(lengths: [Int]) throws {
        var rng = TwinRandom(state: UInt64(lengths.reduce(0, +)))
        let heads = 2, h = heads * 64, total = lengths.reduce(0, +)
        let qkv = rng.floats(total * 3 * h, -1.5, 1.5)
        // Random masked keys; the second sequence entirely masked.
        var mask = (0..<total).map { _ in UInt8(rng.int(4) == 0 ? 0 : 1) }
        for j in lengths[0]..<(lengths[0] + lengths[1]) { mask[j] = 0 }
        let sequences = PackedSequences(lengths: lengths, keyMask: mask)
        let reference = try CPUKernels().attention(
            qkv: CPUMatrix(rows: total, columns: 3 * h, values: qkv), sequences: sequences, heads: heads, headSize: 64)
        let twin = Self.emulateKeyTile64(qkv: qkv, sequences: sequences, heads: heads)
        #expect(!twin.contains { $0.isNaN }, "every output element written by some block")
        #expect(maxAbsDifference(twin, reference.values) < 1e-4)
    }

    @Test("the twin's tile and block sizes are the kernel's")
    func sizesMatchSource() {
        let source = AttentionKeyTile64Kernel.source
        #expect(source.contains("constexpr int ROW = 72, TILE = \(AttentionKeyTile64Kernel.keysPerTile);"))
        #expect(source.contains("__launch_bounds__(\(32 * AttentionKernel.warpsPerBlock)) attention_tc_k64_d64("))
        #expect(source.contains("const int q0 = item.z + warp * 16;"))
        #expect(AttentionKernel.tensorCoreQueriesPerBlock == 16 * AttentionKernel.warpsPerBlock)
    }
}
