// What every checkpoint format offers: named tensors, read on demand. Implemented by
// SafetensorsFile and TorchCheckpoint; both are immutable, so a reader may be shared by threads.

import Foundation

/// Read access to the named tensors of one checkpoint file.
public protocol CheckpointReader: Sendable {
    var url: URL { get }
    /// Every tensor name, in file order.
    var tensorNames: [String] { get }
    /// The tensor called `name` (verbatim upstream name); throws `.tensorNotFound` for others.
    func tensor(named name: String) throws -> CheckpointTensor
}
