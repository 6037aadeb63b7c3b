// Which compute backend runs the model. `auto` picks the best one available on this machine.

public enum Backend: String, Sendable, CaseIterable {
    case auto
    case cpu
}
