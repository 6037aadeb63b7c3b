import ArgumentParser

// `main` only parses: every subcommand calls the same library functions the tests call.

@main
struct UniNLU: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uninlu",
        abstract: "Zero-shot Chinese NLU (SiameseUIE, RexUniNLU): exact upstream outputs, fast.",
        subcommands: [PredictCommand.self, ValidateCommand.self, TokenizeCommand.self, DoctorCommand.self, CheckCommand.self, BenchCommand.self, BuildCommand.self, ServeCommand.self])
}
