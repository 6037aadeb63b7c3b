import Foundation
import Testing

// `--fp16-recheck-margin` through the real binary: where it cannot apply (the CPU backend) the
// command stops with exit 2 and says why, for predict and for validate's configuration under test.

@Suite("--fp16-recheck-margin on the command line")
struct RecheckFlagTests {
    @Test("predict on the CPU backend refuses it with a message")
    func predictOnCPU() throws {
        let r = try CLI.run(["predict", "--model", CLI.siameseModel, "--backend", "cpu", "--fp16-recheck-margin", "0.05",
                             "--labels", "人物", "--text", "张三去了北京"])
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("--fp16-recheck-margin: it re-checks the CUDA FP16 engine"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test("a negative margin is refused")
    func negativeMargin() throws {
        let r = try CLI.run(["predict", "--model", CLI.siameseModel, "--backend", "cpu", "--fp16-recheck-margin=-1",
                             "--labels", "人物", "--text", "张三去了北京"])
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("must be a number ≥ 0"), "\(r.stderr)")
    }
}
