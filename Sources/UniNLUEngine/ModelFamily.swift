// The model families UniNLU runs, detected from the files of a model directory.

public enum ModelFamily: String, Sendable, CaseIterable {
    case siameseUIE = "siamese-uie"
    case rexUniNLU = "rex-uninlu"
}
