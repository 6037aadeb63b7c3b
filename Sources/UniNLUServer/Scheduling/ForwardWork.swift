import UniNLUCore

// One request's unit of work for an engine replica, already unwrapped to the replica's own caches,
// and what comes back. Encode and hint jobs use different engine calls, so a forward carries only
// one kind.

enum ForwardWork: Sendable {
    case encode([[SiameseTextWindow]])
    case pointer([SiameseHintJob])

    enum Kind: String, Sendable {
        case encode
        case pointer
    }

    var kind: Kind {
        switch self {
        case .encode: return .encode
        case .pointer: return .pointer
        }
    }

    /// Items the engine returns for this work: one cache per text, or one result per hint job.
    var itemCount: Int {
        switch self {
        case let .encode(texts): return texts.count
        case let .pointer(jobs): return jobs.count
        }
    }
}

enum ForwardOutput: Sendable {
    case caches([any SiameseTextCache])
    case logits([[[PointerLogits]]])
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
