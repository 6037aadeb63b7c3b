import Foundation

// Runs the real `uninlu` binary built next to this test bundle and captures its output.

struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum CLI {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let siameseModel = fixtures.appendingPathComponent("siamese_uie/model").path
    static let rexModel = fixtures.appendingPathComponent("rex_uninlu/model").path

    /// The binary sits in the same build products folder as the test runner.
    static var binary: URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent(),
        ]
        for folder in candidates {
            var dir = folder
            for _ in 0..<4 {
                let url = dir.appendingPathComponent("uninlu")
                if FileManager.default.isExecutableFile(atPath: url.path) { return url }
                dir = dir.deletingLastPathComponent()
            }
        }
        return candidates[0].appendingPathComponent("uninlu")
    }

    /// `environment` entries are added to (or, with a nil value, removed from) this process's environment.
    static func run(_ arguments: [String], stdin: Data? = nil, environment: [String: String?] = [:]) throws -> CLIResult {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        if !environment.isEmpty {
            var merged = ProcessInfo.processInfo.environment
            for (key, value) in environment { merged[key] = value }
            process.environment = merged
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        // Read both pipes before waiting so a large output cannot block the child.
        let collected = OutputBox()
        let reader = Thread { collected.data = out.fileHandleForReading.readDataToEndOfFile(); collected.done.signal() }
        reader.start()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        collected.done.wait()
        process.waitUntilExit()
        return CLIResult(status: process.terminationStatus, stdout: String(decoding: collected.data, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Standard output read on another thread; `done` orders the write before the read.
    private final class OutputBox: @unchecked Sendable {
        var data = Data()
        let done = DispatchSemaphore(value: 0)
    }

    static func temporaryFile(_ contents: Data, suffix: String = ".jsonl") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("uninlu-test-\(UUID().uuidString)\(suffix)")
        try contents.write(to: url)
        return url
    }
}
