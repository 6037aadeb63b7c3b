import CCUDA
import Testing
@testable import UniNLUCUDA

// The replay guard of CUDA graphs, without a GPU: a patch pass accepts exactly the captured ops
// (new upload bytes land in the graph's pinned slots) and refuses any other op before anything runs.

@Suite struct StreamRecorderTests {
    static let launch = RecordedStreamOp.launch(function: 0x1000, grid: [4, 12, 1], block: [128, 1, 1], sharedBytes: 0, arguments: [0xA000, 7])
    static let gemm = RecordedStreamOp.gemm(shape: [128, 768, 768, 0, 1], pointers: [0xA000, 0xB000, 0xC000, 0xD000, 0xE000])

    /// A captured log: upload (slot), launch, GEMM; the slot is plain memory standing in for pinned memory.
    func withCapturedLog(_ body: (StreamRecorder, UnsafeMutableRawPointer) throws -> Void) rethrows {
        let slot = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 256)
        defer { slot.deallocate() }
        slot.initializeMemory(as: UInt8.self, repeating: 0, count: 256)
        let recorder = StreamRecorder.patch(ops: [.upload(destination: 0xA000, bytes: 8), Self.launch, Self.gemm], uploadSlots: [0: slot])
        try body(recorder, slot)
    }

    static func stage(_ values: [Int32], _ recorder: StreamRecorder, to destination: UInt64) throws {
        _ = try values.withUnsafeBytes { try recorder.stage($0, to: CUdeviceptr(destination)) }
    }

    @Test func theSameOpsPatchTheUploadBytes() throws {
        try withCapturedLog { recorder, slot in
            let ids: [Int32] = [101, 2769]
            let slotReturned = try ids.withUnsafeBytes { try recorder.stage($0, to: 0xA000) }
            #expect(slotReturned == nil)  // nothing to issue: the graph reads the slot
            let skippedLaunch = try recorder.intercept(Self.launch), skippedGemm = try recorder.intercept(Self.gemm)
            #expect(skippedLaunch && skippedGemm)
            try recorder.finishPatch()
            #expect(slot.load(as: Int32.self) == 101)
            #expect(slot.load(fromByteOffset: 4, as: Int32.self) == 2769)
        }
    }

    @Test func anotherKernelArgumentIsRefused() throws {
        try withCapturedLog { recorder, _ in
            try Self.stage([1, 2], recorder, to: 0xA000)
            let other = RecordedStreamOp.launch(function: 0x1000, grid: [4, 12, 1], block: [128, 1, 1], sharedBytes: 0, arguments: [0xA000, 8])
            #expect(throws: CUDAError.self) { try recorder.intercept(other) }
        }
    }

    @Test func anUploadOfAnotherSizeOrPlaceIsRefused() throws {
        try withCapturedLog { recorder, _ in
            #expect(throws: CUDAError.self) { try Self.stage([1, 2, 3], recorder, to: 0xA000) }
        }
        try withCapturedLog { recorder, _ in
            #expect(throws: CUDAError.self) { try Self.stage([1, 2], recorder, to: 0xA100) }
        }
    }

    @Test func missingOrExtraOpsAreRefused() throws {
        try withCapturedLog { recorder, _ in
            try Self.stage([1, 2], recorder, to: 0xA000)
            _ = try recorder.intercept(Self.launch)
            #expect(throws: CUDAError.self) { try recorder.finishPatch() }
        }
        try withCapturedLog { recorder, _ in
            try Self.stage([1, 2], recorder, to: 0xA000)
            _ = try recorder.intercept(Self.launch)
            _ = try recorder.intercept(Self.gemm)
            #expect(throws: CUDAError.self) { try recorder.intercept(Self.launch) }
        }
    }

    @Test func downloadsCannotRunInsideAGraphButMayInTheDryRun() throws {
        try withCapturedLog { recorder, _ in
            #expect(throws: CUDAError.self) { try recorder.refuse("a download") }
            #expect(throws: CUDAError.self) { try recorder.directUpload(bytes: 4) }
        }
        let dryRun = StreamRecorder.dryRun()
        try dryRun.refuse("a download")
        let first = try [UInt8](repeating: 1, count: 300).withUnsafeBytes { try dryRun.stage($0, to: 0xA000) }
        #expect(first == nil)  // staged as usual
        _ = try [UInt8](repeating: 1, count: 10).withUnsafeBytes { try dryRun.stage($0, to: 0xA000) }
        #expect(dryRun.stagedBytes == 512 + 256)  // each upload takes whole 256-byte slots
        let skipped = try dryRun.intercept(Self.launch)
        #expect(!skipped)
    }

    @Test func kernelArgumentsCompareByTheirBytes() {
        #expect(KernelArgument.int32(-1).bits == 0xFFFF_FFFF)
        #expect(KernelArgument.float(1).bits == UInt64(Float(1).bitPattern))
        #expect(KernelArgument.pointer(0xA000).bits == 0xA000)
    }
}
