import UniNLUCore

// One request's unit of work for an engine replica, already unwrapped to the replica's own caches,
// and what comes back. SiameseUIE encode and hint jobs and RexUniNLU token-pair jobs use different
// engine calls, so a forward carries only one kind.

enum ForwardWork: Sendable {
    case encode([[SiameseTextWindow]])
    case pointer([SiameseHintJob])
    case rex([RexForwardJob])

    enum Kind: String, Sendable, CaseIterable {
        case encode
        case pointer
        case rex
    }

    var kind: Kind {
        switch self {
        case .encode: return .encode
        case .pointer: return .pointer
        case .rex: return .rex
        }
    }

    /// Items the engine returns for this work: one cache per text, or one result per hint job.
    var itemCount: Int {
        switch self {
        case let .encode(texts): return texts.count
        case let .pointer(jobs): return jobs.count
        case let .rex(jobs): return jobs.count
        }
    }
}

enum ForwardOutput: Sendable {
    case caches([any SiameseTextCache])
    case logits([[[PointerLogits]]])
    case tokenPairs([RexTokenPairLogits])
}

/// What a lane's replica runs: a SiameseUIE or a RexUniNLU engine.
enum LaneEngine: Sendable {
    case siameseUIE(any SiameseUIEForward)
    case rexUniNLU(any RexUniNLUForward)
}

/// Where one job's time went inside the scheduler.
struct JobTiming: Sendable {
    var queue: Duration
    var forward: Duration
}

struct ForwardCompletion: Sendable {
    var output: ForwardOutput
    var timing: JobTiming
}
