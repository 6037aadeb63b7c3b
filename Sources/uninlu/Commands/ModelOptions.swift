import ArgumentParser
import Foundation
import UniNLUCUDA
import UniNLUEngine
import UniNLUPipelines

// Options shared by the commands that load a model.

struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Model directory as ModelScope ships it (config.json, vocab.txt, model.safetensors or pytorch_model.bin), or a .plan file.",
        discussion: "Default: $UNINLU_MODEL, else the bundled model uninlu-siamese-zh-small (docs/model-formats.md)."))
    var model: String?

    @Option(name: .long, help: "Compute backend: auto (CUDA when a usable GPU is present, else CPU), cpu or cuda.")
    var backend: Backend = .auto

    @Option(name: .customLong("fp16-recheck-margin"), help: ArgumentHelp(
        "SiameseUIE on the CUDA FP16 engine: re-run in FP32 every hint with a logit within this margin of the threshold.",
        discussion: "Loads the model a second time in FP32 on the same GPU; decisions FP16 could flip then match FP32 (docs/cuda-backend.md). Off by default."))
    var fp16RecheckMargin: Float?

    @Option(name: .customLong("cuda-graphs"), help: ArgumentHelp(
        "CUDA: how many forward shapes to keep as captured CUDA graphs (0: every forward op by op).",
        discussion: "A shape seen again is captured and later replayed with the new inputs; least recently used dropped first (docs/cuda-backend.md)."))
    var cudaGraphs = CUDAGraphPolicy().maxGraphs

    @Option(name: .customLong("cuda-graph-max-tokens"), help: "CUDA: forwards over more packed tokens than this always run op by op.")
    var cudaGraphMaxTokens = CUDAGraphPolicy().maxTokens

    @Option(name: .customLong("cuda-graph-capture-after"), help: "CUDA: calls of a shape that run op by op before it is captured.")
    var cudaGraphCaptureAfter = CUDAGraphPolicy().captureAfter

    @Option(name: .customLong("cuda-graph-bucket"), help: ArgumentHelp(
        "CUDA: pad SiameseUIE text windows and hints, and RexUniNLU prompts, with masked tokens to a multiple of this many, so that nearby lengths share one graph (1: exact lengths).",
        discussion: "Padding never changes a result; it costs the padded rows' compute (docs/cuda-backend.md)."))
    var cudaGraphBucket = CUDAGraphPolicy().lengthBucket

    var graphPolicy: CUDAGraphPolicy {
        CUDAGraphPolicy(maxGraphs: cudaGraphs, captureAfter: cudaGraphCaptureAfter, maxTokens: cudaGraphMaxTokens, lengthBucket: cudaGraphBucket)
    }

    func validate() throws {
        for (name, value) in [("cuda-graphs", cudaGraphs), ("cuda-graph-max-tokens", cudaGraphMaxTokens),
                              ("cuda-graph-capture-after", cudaGraphCaptureAfter)] where value < 0 {
            throw ValidationError("--\(name) must be 0 or more")
        }
        guard (1...512).contains(cudaGraphBucket) else { throw ValidationError("--cuda-graph-bucket must be between 1 and 512") }
    }

    /// `--model`, or the default model when it is left out (DefaultModel.swift).
    func modelURL() throws -> URL { try DefaultModel.resolve(model) }

    /// `precision`: nil for the backend's default (fp16 on CUDA, fp32 on the CPU); `device`: the
    /// CUDA device ordinal (ignored on the CPU).
    func load(limits: InputLimits = InputLimits(), precision: ComputePrecision? = nil, device: Int = 0) throws -> LoadedModel {
        try LoadedModel.load(modelDirectory: try modelURL(), backend: backend, precision: precision, device: device, limits: limits,
                             fp16RecheckMargin: fp16RecheckMargin, graphPolicy: graphPolicy)
    }
}

extension Backend: ExpressibleByArgument {}

struct LimitOptions: ParsableArguments {
    @Option(help: "Longest text accepted, in Unicode code points.")
    var maxTextLength = InputLimits().maxTextLength
    @Option(help: "Most labels in one schema, counting every level.")
    var maxSchemaLabels = InputLimits().maxSchemaLabels
    @Option(help: "Deepest schema nesting (a flat schema is 1).")
    var maxSchemaDepth = InputLimits().maxSchemaDepth
    @Option(help: "Longest label, in Unicode code points.")
    var maxLabelLength = InputLimits().maxLabelLength

    var limits: InputLimits {
        var limits = InputLimits()
        limits.maxTextLength = maxTextLength
        limits.maxSchemaLabels = maxSchemaLabels
        limits.maxSchemaDepth = maxSchemaDepth
        limits.maxLabelLength = maxLabelLength
        return limits
    }

    func validate() throws {
        for (name, value) in [("max-text-length", maxTextLength), ("max-schema-labels", maxSchemaLabels),
                              ("max-schema-depth", maxSchemaDepth), ("max-label-length", maxLabelLength)] where value <= 0 {
            throw ValidationError("--\(name) must be positive")
        }
    }
}
