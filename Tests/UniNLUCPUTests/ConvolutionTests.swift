import Foundation
import Testing
import UniNLUCore
import UniNLUCPU

// DeBERTa-v2's ConvLayer convolution on the CPU against a Double reference: per packed sequence,
// zero padding at its boundaries, then bias, GELU (erf) and the residual.

@Suite("convolution matches a Double reference")
struct ConvolutionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var lengths: [Int]
        var channelsIn: Int
        var channelsOut: Int
        var kernel: Int
        var gelu: Bool
        var seed: UInt64
        var testDescription: String { "lengths \(lengths) \(channelsIn)→\(channelsOut) k \(kernel) gelu \(gelu) seed \(seed)" }
    }

    static let cases = [
        Case(lengths: [1], channelsIn: 3, channelsOut: 3, kernel: 3, gelu: true, seed: 11),
        Case(lengths: [4, 1, 9], channelsIn: 3, channelsOut: 5, kernel: 3, gelu: true, seed: 12),
        Case(lengths: [2, 17], channelsIn: 7, channelsOut: 6, kernel: 5, gelu: false, seed: 13),
    ]

    @Test("per-sequence zero padding, bias, activation and residual", arguments: cases)
    func matchesReference(_ c: Case) throws {
        var rng = SeededGenerator(seed: c.seed)
        let rows = c.lengths.reduce(0, +)
        let x = (0..<(rows * c.channelsIn)).map { _ in rng.uniform(-2, 2) }
        let residual = (0..<(rows * c.channelsOut)).map { _ in rng.uniform(-1, 1) }
        let weight = (0..<(c.channelsOut * c.channelsIn * c.kernel)).map { _ in rng.uniform(-1, 1) }
        let bias = (0..<c.channelsOut).map { _ in rng.uniform(-0.5, 0.5) }
        let kernels = CPUKernels()
        let conv = try kernels.makeConvolution(weight: weight, bias: bias, outChannels: c.channelsOut, inChannels: c.channelsIn, kernelSize: c.kernel)
        let sequences = PackedSequences(lengths: c.lengths)
        let out = try kernels.convolution(
            CPUMatrix(rows: rows, columns: c.channelsIn, values: x), conv, sequences: sequences,
            activation: c.gelu ? .gelu : .none, residual: CPUMatrix(rows: rows, columns: c.channelsOut, values: residual)).values

        var worst = 0.0
        let pad = (c.kernel - 1) / 2
        for s in 0..<sequences.count {
            let start = sequences.offsets[s], n = sequences.length(of: s)
            for t in 0..<n {
                for o in 0..<c.channelsOut {
                    var sum = Double(bias[o])
                    for k in 0..<c.kernel {
                        let source = t + k - pad
                        guard source >= 0, source < n else { continue }
                        for i in 0..<c.channelsIn {
                            sum += Double(weight[(o * c.channelsIn + i) * c.kernel + k]) * Double(x[(start + source) * c.channelsIn + i])
                        }
                    }
                    if c.gelu { sum = 0.5 * sum * (1 + erf(sum / 2.0.squareRoot())) }
                    let expected = sum + Double(residual[(start + t) * c.channelsOut + o])
                    worst = max(worst, abs(Double(out[(start + t) * c.channelsOut + o]) - expected) / max(1, abs(expected)))
                }
            }
        }
        #expect(worst < 1e-5, "max relative error \(worst)")
    }

    @Test("an even kernel size is refused (it would not keep the length)")
    func evenKernelRefused() {
        #expect(throws: CPUKernelError.self) {
            try CPUKernels().makeConvolution(weight: [Float](repeating: 0, count: 8), bias: [0, 0], outChannels: 2, inChannels: 2, kernelSize: 2)
        }
    }
}
