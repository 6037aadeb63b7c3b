import ArgumentParser
import Foundation
import UniNLUEngine

// `uninlu build`: a model directory -> one engine plan file for this machine's GPU (format: the
// comment at the top of Sources/UniNLUEngine/EnginePlan.swift). predict/bench accept the plan as --model.

struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build a GPU engine plan: weights converted once, kernels compiled for this GPU, GEMMs tuned.",
        discussion: "uninlu build --model DIR --precision fp16 --output model.plan   (then: uninlu predict --model model.plan …)")

    @Option(help: "Model directory as ModelScope ships it. Default: $UNINLU_MODEL, else the bundled model.") var model: String?
    @Option(help: "fp16 or fp32.") var precision: ComputePrecision = .fp16
    @Option(help: "The plan file to write.") var output: String

    func run() async throws {
        try EnginePlan.build(
            modelDirectory: try DefaultModel.resolve(model), precision: precision, output: URL(fileURLWithPath: output),
            log: { FileHandle.standardError.write(Data(("build: " + $0 + "\n").utf8)) })
    }
}

extension ComputePrecision: ExpressibleByArgument {}
