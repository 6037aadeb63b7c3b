import Foundation
import Testing

// The CUDA graph settings through the real binary: a negative value is refused before anything
// loads; on the CPU backend the settings change nothing (it has no graphs).

@Suite("--cuda-graphs settings on the command line")
struct CUDAGraphFlagTests {
    @Test("negative values are refused with the flag named", arguments: ["--cuda-graphs", "--cuda-graph-max-tokens", "--cuda-graph-capture-after"])
    func negativeRefused(flag: String) throws {
        let r = try CLI.run(["predict", "--model", CLI.siameseModel, "--backend", "cpu", "\(flag)=-1", "--labels", "人物", "--text", "张三去了北京"])
        #expect(r.status != 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("\(flag) must be 0 or more"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test("on the CPU backend the settings leave the output as it is")
    func cpuUnchanged() throws {
        let arguments = ["predict", "--model", CLI.siameseModel, "--backend", "cpu", "--labels", "人物,地点", "--text", "张三去了北京"]
        let plain = try CLI.run(arguments)
        let off = try CLI.run(arguments + ["--cuda-graphs", "0", "--cuda-graph-max-tokens", "16", "--cuda-graph-capture-after", "0"])
        #expect(plain.status == 0 && off.status == 0, "\(plain.stderr)\(off.stderr)")
        #expect(!plain.stdout.isEmpty)
        #expect(plain.stdout == off.stdout)
    }
}
