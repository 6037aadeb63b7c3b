import Foundation

// Which model a command uses when `--model` is left out (docs/model-formats.md): $UNINLU_MODEL if
// set, else the bundled uninlu-siamese-zh-small, looked for beside the executable, in an install
// prefix's share/, in the source checkout this binary was built from, and in ./Models.

enum DefaultModel {
    static let name = "uninlu-siamese-zh-small"
    static let environmentKey = "UNINLU_MODEL"

    /// The repository root of the checkout this file was compiled in (Sources/uninlu/Commands/…).
    static let sourceCheckout = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `explicit` (a --model value) when given; otherwise the default model, or an error that
    /// lists every place looked at.
    static func resolve(_ explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        if let explicit { return URL(fileURLWithPath: explicit) }
        if let path = environment[environmentKey], !path.isEmpty {
            guard FileManager.default.fileExists(atPath: path) else {
                throw CLIError("""
                    no model: --model was not given and \(environmentKey)=\(path) does not exist. \
                    Pass --model DIR, point \(environmentKey) at a model directory, or unset it to use the bundled model \(name).
                    """)
            }
            return URL(fileURLWithPath: path)
        }
        let places = candidates()
        if let found = places.first(where: isModelDirectory) { return found }
        throw CLIError("""
            no model: --model was not given, \(environmentKey) is not set, and the bundled model \(name) is in none of:
            \(places.map { "  \($0.path)" }.joined(separator: "\n"))
            Pass --model DIR (a model directory, or a .plan file), or set \(environmentKey).
            """)
    }

    /// The places the bundled model may be, in order.
    static func candidates() -> [URL] {
        var places: [URL] = []
        if let executable = executableDirectory() {
            places.append(executable.appendingPathComponent("models").appendingPathComponent(name))
            places.append(executable.deletingLastPathComponent().appendingPathComponent("share/uninlu/models").appendingPathComponent(name))
        }
        places.append(sourceCheckout.appendingPathComponent("Models").appendingPathComponent(name))
        places.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Models").appendingPathComponent(name))
        var seen = Set<String>()
        return places.map(\.standardizedFileURL).filter { seen.insert($0.path).inserted }
    }

    private static func isModelDirectory(_ url: URL) -> Bool {
        FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path)
    }

    /// The directory of the running executable, symlinks resolved (Linux: /proc/self/exe).
    private static func executableDirectory() -> URL? {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: path).deletingLastPathComponent()
        }
        if let url = Bundle.main.executableURL { return url.resolvingSymlinksInPath().deletingLastPathComponent() }
        return URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    }
}
