import Foundation

// Relative positions of DeBERTa-v2: `r = pos_i − pos_j`, optionally log-bucketed (HF
// `make_log_bucket_position`), then the relative-embedding row `clamp(r + span, 0, 2·span − 1)`. The
// same row serves c2p and p2c (p2c's `clamp(−r(j,i) + span)` equals it because r is odd-symmetric).

public enum RelativePositionMode: Sendable, Equatable {
    /// Distances used as they are (RexUniNLU: `max_relative_positions` −1).
    case raw
    /// HF log buckets: exact within ±buckets/2, logarithmic beyond, up to `maxPosition`.
    case logBuckets(buckets: Int, maxPosition: Int)

    /// The bucketed relative position, computed in Float32 as torch does (float32 `log`, `ceil`).
    public func bucket(_ relative: Int) -> Int {
        guard case let .logBuckets(buckets, maxPosition) = self else { return relative }
        let mid = buckets / 2
        let magnitude = relative < mid && relative > -mid ? mid - 1 : abs(relative)
        if magnitude <= mid { return relative }
        // torch: log(abs / mid) / log(tensor((max - 1) / mid)) * (mid - 1), all float32.
        let ratio = Float(Double(maxPosition - 1) / Double(mid))
        let scaled = logf(Float(magnitude) / Float(mid)) / logf(ratio) * Float(mid - 1)
        let logPosition = Int(scaled.rounded(.up)) + mid
        return relative < 0 ? -logPosition : logPosition
    }

    /// The relative-embedding row for query position `pi` and key position `pj`.
    public func row(query pi: Int32, key pj: Int32, span: Int) -> Int32 {
        let r = bucket(Int(pi) - Int(pj))
        return Int32(min(max(r + span, 0), 2 * span - 1))
    }
}
