import ArgumentParser
import Foundation
import UniNLUCore
import UniNLUCUDA
import UniNLUEngine

// `uninlu bench --backend cuda`: the encoder forward per shape (CUDA events around each forward,
// eager op dispatch and CUDA-graph replay) and optionally one end-to-end request; JSON out.
//   uninlu bench --model DIR --backend cuda --precision fp16 --shapes 1x128,16x128,128x128,8x512 \
//                --text "…" --labels 出发地,目的地,时间,人物 --output bench.json

extension BenchCommand {
    func runCUDA() async throws {
        let list = shapes ?? "\(batch)x\(seq)"
        let parsed = try list.split(separator: ",").map { item -> CUDABenchmark.Shape in
            guard let shape = CUDABenchmark.Shape(String(item)) else { throw ValidationError("bad shape \(item); use BxS, e.g. 16x128") }
            return shape
        }
        guard try backend.resolved() == .cuda else {
            throw ValidationError("--backend \(backend.rawValue) resolved to the CPU; the CPU benchmark is --backend cpu")
        }
        let url = try DefaultModel.resolve(model)
        let log: (String) -> Void = { FileHandle.standardError.write(Data(("bench: " + $0 + "\n").utf8)) }
        var fields: [(String, JSONValue)] = [("tool", .string("uninlu")), ("backend", .string("cuda"))]
        if (try? ModelDirectory(url: url).family) == .rexUniNLU {
            fields.append(("encoder", try CUDABenchmark.rexEncoder(
                modelDirectory: url, precision: precision, shapes: parsed, warmup: max(warmup, 5), iterations: iterations, log: log)))
        } else {
            fields.append(("encoder", try CUDABenchmark.encoder(
                modelDirectory: url, precision: precision, shapes: parsed, warmup: max(warmup, 5), iterations: iterations, log: log)))
        }
        if let text {
            let labelList = labels.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            var policy = CUDAGraphPolicy()
            policy.lengthBucket = cudaGraphBucket
            fields.append(("end_to_end", try await CUDABenchmark.endToEnd(
                modelDirectory: url, backend: .cuda, precision: precision, text: text, labels: labelList,
                warmup: 20, iterations: max(iterations, 100), graphPolicy: policy, log: log)))
            // The same request with every forward dispatched op by op (no CUDA graphs), for the ratio.
            fields.append(("end_to_end_op_by_op", try await CUDABenchmark.endToEnd(
                modelDirectory: url, backend: .cuda, precision: precision, text: text, labels: labelList,
                warmup: 20, iterations: max(iterations, 100), graphPolicy: .disabled, log: log)))
            if textVariants > 1 {
                // Varied lengths: graphs with length buckets (the default), graphs keyed on exact
                // lengths, and op by op.
                var exact = CUDAGraphPolicy()
                exact.lengthBucket = 1
                for (key, policy) in [("end_to_end_varied", CUDAGraphPolicy()), ("end_to_end_varied_exact_lengths", exact),
                                      ("end_to_end_varied_op_by_op", CUDAGraphPolicy.disabled)] {
                    fields.append((key, try await CUDABenchmark.endToEnd(
                        modelDirectory: url, backend: .cuda, precision: precision, text: text, labels: labelList,
                        warmup: 20, iterations: max(iterations, 4 * textVariants), graphPolicy: policy, variants: textVariants, log: log)))
                }
            }
            if let margin = fp16RecheckMargin {
                fields.append(("end_to_end_fp16_recheck", try await CUDABenchmark.endToEnd(
                    modelDirectory: url, backend: .cuda, precision: precision, text: text, labels: labelList,
                    warmup: 20, iterations: max(iterations, 100), fp16RecheckMargin: margin, log: log)))
            }
        }
        let json = JSONValue.object(fields).serialized()
        if let output {
            try Data(json.utf8).write(to: URL(fileURLWithPath: output))
        } else {
            print(json)
        }
    }
}

