// A one-thread kernel that keeps the stream busy for a while. Autotunes launch it before their
// timed runs so that the host has queued every run before the first starts: the events then time
// the GPU work back to back, as a replayed CUDA graph runs it. Without it, runs of a few µs are
// timed at the rate the host issues them (cuBLASLt's host side alone is a few µs a call), which
// ranks candidates by host cost, not by what a graph replay sees (nvbench's blocking kernel does
// the same for the same reason).

enum StreamHoldKernel {
    static let source = #"""
    extern "C" __global__ void hold_stream(unsigned long long nanoseconds) {
        unsigned long long start, now;
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
        do { asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now)); } while (now - start < nanoseconds);
    }
    """#
    static let names = ["hold_stream"]
}

extension CUDAKernels {
    /// Keeps the stream busy while the host queues `runs` timed runs (at most ~15 µs of host time each:
    /// a cuBLASLt call and a launch), before timed autotune runs; UNINLU_TIMING_HOLD=0 turns it off
    /// to compare with timing as the host issues. Short, because every new shape pays it per candidate.
    func holdStream(runs: Int) throws {
        guard Self.timingHold else { return }
        let microseconds = 20 + 15 * runs
        try context.launch(function("hold_stream"), name: "hold_stream", grid: (1, 1, 1), block: (1, 1, 1),
                           [.int64(Int64(microseconds) * 1000)])
    }

    static let timingHold = getenvString("UNINLU_TIMING_HOLD") != "0"
}
