import Testing
@testable import UniNLUCUDA

// Which shapes our tensor-core GEMM takes, which tiles the autotune times for a row count, and how a
// tile's grid covers the output (the kernel itself runs in `uninlu check ops` on a GPU).
@Suite("tensor-core GEMM tiles")
struct TensorCoreGemmTileTests {
    typealias Kernel = TensorCoreGemmKernel

    @Test("base-size dense layers qualify, whole and in K slices")
    func baseSizeShapes() {
        for (n, k) in [(2304, 768), (768, 768), (3072, 768), (768, 3072)] {
            #expect(Kernel.supports(m: 128, n: n, k: k, splits: 1, pointers: [256, 512]))
        }
        for splits in [2, 3, 4] { #expect(Kernel.supports(m: 128, n: 768, k: 3072, splits: splits, pointers: [])) }
        // 768 = 3 x 256 = 4 x 192: whole 64-wide steps; 768 / 5 is not even an integer.
        #expect(Kernel.supports(m: 128, n: 768, k: 768, splits: 4, pointers: []))
        #expect(!Kernel.supports(m: 128, n: 768, k: 768, splits: 5, pointers: []))
    }

    @Test("shapes the kernel cannot take are refused")
    func refusals() {
        #expect(!Kernel.supports(m: 5, n: 2, k: 768, splits: 1, pointers: []))      // N not in whole 8-column tiles
        #expect(!Kernel.supports(m: 33, n: 40, k: 100, splits: 1, pointers: []))    // K not in whole 64-wide steps
        #expect(!Kernel.supports(m: 9, n: 64, k: 96, splits: 1, pointers: []))
        #expect(!Kernel.supports(m: 9, n: 64, k: 64, splits: 2, pointers: []))      // a slice shorter than one step
        #expect(!Kernel.supports(m: 0, n: 64, k: 64, splits: 1, pointers: []))
        #expect(!Kernel.supports(m: 128, n: 768, k: 768, splits: 1, pointers: [256, 258]))   // an operand off 16 bytes
    }

    @Test("the autotune times no tile taller than the rows need")
    func candidates() {
        #expect(Kernel.candidates(m: 128).count == Kernel.tiles.count)
        #expect(Kernel.candidates(m: 40).map(\.name) == ["gemm_tc_32x64", "gemm_tc_16x64", "gemm_tc_32x32", "gemm_tc_16x32"])
        #expect(Kernel.candidates(m: 1).map(\.name) == ["gemm_tc_16x64", "gemm_tc_16x32"])
    }

    @Test("a tile's grid covers every output element once per K slice")
    func grid() {
        let tile = Kernel.Tile(rows: 64, columns: 32, warps: (4, 2), stages: 7)
        let (x, y, z) = Kernel.grid(tile, m: 129, n: 2304, splits: 3)
        #expect(x == 72 && y == 3 && z == 3)
        #expect(x * tile.columns >= 2304 && (x - 1) * tile.columns < 2304)
        #expect(y * tile.rows >= 129 && (y - 1) * tile.rows < 129)
    }

    @Test("every tile's stages fit the opt-in shared memory of an H100 and match the compiled source")
    func sharedMemory() {
        let source = KernelLibrary.source(fp16: true)
        for tile in Kernel.tiles {
            #expect(tile.sharedBytes <= 227 * 1024, "\(tile.name)")
            #expect(source.contains("UNINLU_GEMM_TC(\(tile.rows), \(tile.columns), \(tile.warpRows), \(tile.warpColumns), \(tile.stages))"), "\(tile.name)")
            #expect(tile.rows % (16 * tile.warpRows) == 0 && tile.columns % (16 * tile.warpColumns) == 0, "\(tile.name): whole m16 and n16 warp tiles")
        }
    }

    @Test("tiles and policies round-trip through their names")
    func names() {
        for tile in Kernel.tiles { #expect(Kernel.Tile(name: tile.name) == tile) }
        #expect(Kernel.Tile(name: "gemm_tc_48x48") == nil)
        #expect(Set(Kernel.names).count == Kernel.tiles.count)
        #expect(Kernel.names.allSatisfy { KernelLibrary.names.contains($0) })
    }
}
