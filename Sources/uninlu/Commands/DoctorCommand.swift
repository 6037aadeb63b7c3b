import ArgumentParser
import UniNLUEngine

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor", abstract: "Report whether this machine is ready: CPU features, threads, backends.")

    @Flag(help: "Print JSON instead of text.") var json = false

    func run() async throws {
        let report = MachineReport.current()
        print(json ? report.json.serialized() : report.text)
    }
}
