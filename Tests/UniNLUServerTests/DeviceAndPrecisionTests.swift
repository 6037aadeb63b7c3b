import Foundation
import Testing
import UniNLUCore
import UniNLUEngine
@testable import UniNLUServer

// `--devices` and `--precision` on the CPU side: the device list and its check against the CUDA
// device count, the one precision type and what each backend runs, the precision and device a
// loaded replica reports (what /ready and the info metric show), and the backend batching defaults.

extension ServerTests {
    @Suite("Devices and precision")
    struct DeviceAndPrecisionTests {
        @Test("--devices parses comma-separated indices", arguments: [
            ("0", [0]), ("0,1", [0, 1]), (" 2 , 0 ", [2, 0]), ("3", [3]), ("0,0", [0, 0]), ("1,0,1", [1, 0, 1]),
        ])
        func parsesDevices(_ text: String, expected: [Int]) throws {
            #expect(try DeviceList(parsing: text).devices == expected)
        }

        @Test("--devices refuses empty, negative and non-numeric entries", arguments: [
            ("", "found \"\""), ("0,", "found \"\""), ("-1", "found \"-1\""), ("0,x", "found \"x\""), ("0;1", "found \"0;1\""),
        ])
        func refusesBadDevices(_ text: String, message: String) {
            #expect {
                _ = try DeviceList(parsing: text)
            } throws: { error in
                "\(error)".contains(message) && "\(error)".contains("--devices")
            }
        }

        @Test("on CUDA every listed device must exist; the message says how many there are")
        func cudaDeviceCount() throws {
            try DeviceList(parsing: "0").validate(backend: .cuda, cudaDeviceCount: 1)
            try DeviceList(parsing: "0,1,2,3").validate(backend: .cuda, cudaDeviceCount: 4)
            try DeviceList(parsing: "0,0").validate(backend: .cuda, cudaDeviceCount: 1)  // two replicas on one GPU
            let cases: [(String, Int, String)] = [
                ("0,1", 1, "names device 1, but this machine has 1 CUDA device (0)"),
                ("1,0,5", 2, "names device 5, but this machine has 2 CUDA devices (0...1)"),
                ("0,7,8", 4, "names devices 7, 8, but this machine has 4 CUDA devices (0...3)"),
                ("1,1", 1, "names device 1, but this machine has 1 CUDA device (0)"),
                ("0", 0, "this machine has no CUDA device"),
            ]
            for (text, count, message) in cases {
                #expect {
                    try DeviceList(parsing: text).validate(backend: .cuda, cudaDeviceCount: count)
                } throws: { error in
                    "\(error)".contains(message)
                }
            }
        }

        @Test("on the CPU backend each entry is one more replica, whatever the index")
        func cpuDevices() throws {
            try DeviceList(parsing: "0,1,5").validate(backend: .cpu, cudaDeviceCount: 0)
        }

        @Test("one precision type: its names, and what each backend runs")
        func precisions() throws {
            #expect(ComputePrecision.allCases.map(\.rawValue) == ["fp32", "fp16", "bf16", "int8", "fp8"])
            #expect(Backend.cpu.supportedPrecisions == [.fp32])
            #expect(Backend.cuda.supportedPrecisions == [.fp16, .fp32])
            #expect(try Backend.cpu.checkedPrecision(nil) == .fp32)
            #expect(try Backend.cuda.checkedPrecision(nil) == .fp16, "CUDA defaults to fp16")
            #expect(try Backend.cuda.checkedPrecision(.fp32) == .fp32)
            let refused: [(Backend, ComputePrecision, String)] = [
                (.cpu, .fp16, "the cpu backend cannot run --precision fp16; it supports fp32"),
                (.cpu, .int8, "the cpu backend cannot run --precision int8; it supports fp32"),
                (.cuda, .bf16, "the cuda backend cannot run --precision bf16; it supports fp16, fp32"),
                (.cuda, .fp8, "the cuda backend cannot run --precision fp8; it supports fp16, fp32"),
            ]
            for (backend, precision, message) in refused {
                #expect {
                    _ = try backend.checkedPrecision(precision)
                } throws: { error in
                    "\(error)" == message
                }
            }
        }

        @Test("a CPU replica reports fp32 and no device; a precision the CPU does not run is refused at load")
        func loadedPrecision() throws {
            let model = try ServerFixtures.loadModel()
            #expect(model.backend == .cpu)
            #expect(model.precision == .fp32)
            #expect(model.device == nil)
            let explicit = try LoadedModel.load(modelDirectory: ServerFixtures.modelDirectory, backend: .cpu, precision: .fp32)
            #expect(explicit.precision == .fp32)
            #expect {
                _ = try LoadedModel.load(modelDirectory: ServerFixtures.modelDirectory, backend: .cpu, precision: .fp16)
            } throws: { error in
                "\(error)".contains("supports fp32")
            }
        }

        @Test("ModelInfo is read off the replicas")
        func modelInfo() throws {
            let model = try ServerFixtures.loadModel()
            let info = try ModelInfo(replicas: [model, model])
            #expect(info.family == "siamese-uie")
            #expect(info.backend == "cpu")
            #expect(info.precision == "fp32")
            #expect(info.replicas == 2)
            #expect(info.devices.isEmpty)
            #expect(info.devicesLabel == "cpu")
            #expect(throws: ServeConfigurationError.self) { _ = try ModelInfo(replicas: []) }
            let cuda = ModelInfo(family: "siamese-uie", backend: "cuda", precision: "fp16", replicas: 2, devices: [0, 1], directory: "/m")
            #expect(cuda.devicesLabel == "0,1")
        }

        @Test("batching defaults: 16,384 rows on both backends; 2 ms wait on the CPU, 0.5 ms on CUDA")
        func batchingDefaults() {
            #expect(BatchPolicy.defaults(for: .cpu) == BatchPolicy(maxBatchTokens: 16_384, maxBatchWait: .milliseconds(2)))
            #expect(BatchPolicy.defaults(for: .cuda) == BatchPolicy(maxBatchTokens: 16_384, maxBatchWait: .microseconds(500)))
            #expect(BatchPolicy() == BatchPolicy.defaults(for: .cpu))
        }

        @Test("jobs queued during a forward run right after it, without waiting out maxBatchWait")
        func noWaitAfterBusyForward() async throws {
            let engine = RecordingEngine()
            // A wait far longer than the test: only a job that arrived at an idle engine may wait it.
            let lane = BatchLane(
                replica: 0, engine: engine, policy: BatchPolicy(maxBatchTokens: 1_000, maxBatchWait: .seconds(600)),
                metrics: ServerMetrics().scheduler)
            let loop = Task { await lane.run() }
            defer { loop.cancel() }
            let window = SchedulerTests.window(5, length: 4)
            // The first job finds the lane idle and waits for company; a full budget ends the wait.
            async let first = lane.submit(.encode([window]), tokens: 1_000)
            while engine.recorded.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
            // The engine is busy (gated) with it: these queue up and must go as soon as it is free.
            async let second = lane.submit(.encode([window]), tokens: 4)
            async let third = lane.submit(.encode([window]), tokens: 4)
            try await Task.sleep(for: .milliseconds(100))
            let opened = ContinuousClock.now
            engine.open()
            _ = try await (first, second, third)
            #expect(ContinuousClock.now - opened < .seconds(60), "the queued jobs waited out maxBatchWait")
            #expect(engine.recorded.map(\.items) == [1, 2], "the two queued jobs went together: \(engine.recorded)")
        }
    }
}
