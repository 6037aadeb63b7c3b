import ArgumentParser
import Foundation
import UniNLUCUDA
import UniNLUEngine

// `uninlu check`: the GPU parity check that runs from the one static binary on a GPU machine.
// Exit codes: 0 all passed, 1 a check failed, 3 no usable GPU here (skipped: nothing was checked).

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the CUDA backend against the CPU reference: every op on random inputs (DeBERTa ops included), then the SiameseUIE and RexUniNLU fixtures.",
        discussion: """
            uninlu check                      ops and fixtures, FP32 and FP16
            uninlu check ops --seed 42        op-by-op parity only (NMSE tolerance per op and precision, max-abs printed)
            uninlu check fixtures --precision fp16
            uninlu check graphs               request forwards replayed as CUDA graphs: same values as op by op
            Exit code 0: every check passed; 1: a check failed; 3: no usable GPU on this machine (nothing checked).
            """)

    enum Part: String, ExpressibleByArgument, CaseIterable { case all, ops, fixtures, plans, graphs }

    @Argument(help: "What to check: all, ops, fixtures, plans or graphs (replayed CUDA graphs against op-by-op forwards).") var part: Part = .all
    @Option(help: "Seed of the random op inputs (printed; default: from the clock).") var seed: UInt64?
    @Option(help: "Precision(s) to check: fp16, fp32 or both.") var precision: String = "both"
    @Option(help: "Fixture directory (cases.json + model/).") var fixtures = "Tests/Fixtures/siamese_uie"
    @Option(help: "RexUniNLU fixture directory (cases.json + model/); skipped when it does not exist.") var rexFixtures = "Tests/Fixtures/rex_uninlu"
    @Flag(help: "Print only failures and the summary.") var quiet = false

    static let noGPUExitCode: Int32 = 3

    func run() async throws {
        let env = CUDAEnvironment.probe()
        guard env.canRun else {
            print("uninlu check: SKIPPED — no usable GPU on this machine: \(env.problem ?? "unknown")")
            print("0 passed, 0 failed, 1 skipped")
            throw ExitCode(Self.noGPUExitCode)
        }
        let precisions: [CUDAPrecision]
        switch precision {
        case "both": precisions = [.fp32, .fp16]
        case "fp16": precisions = [.fp16]
        case "fp32": precisions = [.fp32]
        default: throw ValidationError("--precision must be fp16, fp32 or both")
        }
        let seed = seed ?? UInt64(Date().timeIntervalSince1970 * 1000)
        if let device = env.device {
            print("device: \(device.name) (\(device.architecture)), driver CUDA \(device.driverVersionString), NVRTC \(env.nvrtcVersion ?? "?"), cuBLASLt \(env.cublasLtVersion ?? "?")")
        }
        print("seed: \(seed)")
        var lines: [CUDACheckLine] = []
        let quiet = self.quiet
        let printLine: (CUDACheckLine) -> Void = { line in
            guard !quiet || !line.passed else { return }
            print("\(line.passed ? "PASS" : "FAIL")  \(line.group)/\(line.name)  [\(line.vars)]  \(line.detail)")
        }
        if part == .all || part == .ops {
            do {
                lines += try CUDACheck.runOps(seed: seed, precisions: precisions, log: printLine)
            } catch {
                let line = CUDACheckLine(group: "ops", name: "setup", vars: "", passed: false, detail: "error: \(error)")
                printLine(line)
                lines.append(line)
            }
        }
        if part == .all || part == .fixtures {
            for p in precisions {
                do {
                    lines += try await CUDACheck.runFixtures(
                        fixtureDirectory: URL(fileURLWithPath: fixtures), precision: p == .fp16 ? .fp16 : .fp32, log: printLine)
                } catch {
                    let line = CUDACheckLine(group: "fixtures", name: "setup", vars: p.rawValue, passed: false, detail: "error: \(error)")
                    printLine(line)
                    lines.append(line)
                }
            }
        }
        if part == .all || part == .plans {
            for p in precisions {
                do {
                    lines += try await CUDACheck.runPlans(
                        fixtureDirectory: URL(fileURLWithPath: fixtures), precision: p == .fp16 ? .fp16 : .fp32, log: printLine)
                } catch {
                    let line = CUDACheckLine(group: "plans", name: "setup", vars: p.rawValue, passed: false, detail: "error: \(error)")
                    printLine(line)
                    lines.append(line)
                }
            }
        }
        // RexUniNLU after every SiameseUIE part, the tensor-core attention kernel last: a sticky CUDA
        // error (it poisons the process's context) then cannot hide other results.
        let rexAvailable = FileManager.default.fileExists(atPath: rexFixtures + "/cases.json")
        func rexPart(_ group: String, _ vars: String, _ body: () async throws -> [CUDACheckLine]) async {
            do {
                lines += try await body()
            } catch {
                let line = CUDACheckLine(group: group, name: "setup", vars: vars, passed: false, detail: "error: \(error)")
                printLine(line)
                lines.append(line)
            }
        }
        if part == .all || part == .ops {
            await rexPart("rex-ops", "fma attention") { try CUDACheck.runRexOps(seed: seed, precisions: precisions, log: printLine) }
        }
        if part == .all || part == .fixtures {
            if rexAvailable {
                for p in precisions {
                    await rexPart("rex-fixtures", p.rawValue) {
                        try await CUDACheck.runRexFixtures(fixtureDirectory: URL(fileURLWithPath: rexFixtures), precision: p == .fp16 ? .fp16 : .fp32, log: printLine)
                    }
                }
            } else {
                print("rex-fixtures: skipped (no \(rexFixtures)/cases.json)")
            }
        }
        if part == .all || part == .plans, rexAvailable {
            for p in precisions {
                await rexPart("plans", "rex \(p.rawValue)") {
                    try await CUDACheck.runRexPlans(fixtureDirectory: URL(fileURLWithPath: rexFixtures), precision: p == .fp16 ? .fp16 : .fp32, log: printLine)
                }
            }
        }
        if part == .all || part == .graphs {
            for p in precisions {
                await rexPart("graphs", p.rawValue) {
                    try await CUDACheck.runGraphs(siameseFixtures: URL(fileURLWithPath: fixtures),
                                                  rexFixtures: rexAvailable ? URL(fileURLWithPath: rexFixtures) : nil,
                                                  precision: p == .fp16 ? .fp16 : .fp32, log: printLine)
                }
            }
        }
        if part == .all || part == .ops {
            await rexPart("rex-ops", "tensor-core attention") {
                try CUDACheck.runRexOps(seed: seed, precisions: precisions, tensorCoreAttention: true, log: printLine)
            }
        }
        let failed = lines.filter { !$0.passed }
        print("")
        for group in ["ops", "rex-ops", "fixtures", "rex-fixtures", "plans", "graphs"] {
            let inGroup = lines.filter { $0.group == group }
            if !inGroup.isEmpty {
                print("\(group): \(inGroup.count - inGroup.filter { !$0.passed }.count)/\(inGroup.count) passed")
            }
        }
        print("\(lines.count - failed.count) passed, \(failed.count) failed")
        if !failed.isEmpty { throw ExitCode(1) }
    }
}
