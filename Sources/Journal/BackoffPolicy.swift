/// Exponential backoff with full jitter, for retrying the uplink: after the n-th consecutive
/// failure, wait a uniformly random time in [0, min(cap, base · 2^(n-1))) ("full jitter",
/// M. Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015). The randomness
/// spreads the retries of many rigs after a server outage; the cap bounds how long a rig waits
/// once the server is back.
///
/// Pure: the random draw is passed in, so the bounds are tested exactly.
public struct BackoffPolicy: Equatable, Sendable {
    /// The ceiling after the first failure, s.
    public var baseSeconds: Double
    /// The largest ceiling, s.
    public var capSeconds: Double

    public init(baseSeconds: Double, capSeconds: Double) {
        precondition(baseSeconds > 0 && baseSeconds.isFinite, "backoff base must be positive, got \(baseSeconds)")
        precondition(capSeconds >= baseSeconds && capSeconds.isFinite, "backoff cap \(capSeconds) below base \(baseSeconds)")
        self.baseSeconds = baseSeconds
        self.capSeconds = capSeconds
    }

    /// 1 s doubling up to 5 minutes: a server back after a day is reached within 5 minutes.
    public static let uplinkDefault = BackoffPolicy(baseSeconds: 1, capSeconds: 300)

    /// The upper bound of the wait after `failures` consecutive failures (0 failures: no wait):
    /// min(cap, base · 2^(failures-1)).
    public func ceilingSeconds(afterFailures failures: Int) -> Double {
        precondition(failures >= 0, "failures count from 0")
        guard failures > 0 else { return 0 }
        // 2^1023 is the largest finite power of two; past it (or the cap) the cap holds.
        let exponent = min(failures - 1, 1023)
        let ceiling = baseSeconds * Double(sign: .plus, exponent: exponent, significand: 1)
        return min(capSeconds, ceiling)
    }

    /// The wait after `failures` consecutive failures, for `unit` drawn uniformly from [0, 1).
    public func delaySeconds(afterFailures failures: Int, unit: Double) -> Double {
        precondition(unit >= 0 && unit < 1, "the jitter draw is in [0, 1), got \(unit)")
        return unit * ceilingSeconds(afterFailures: failures)
    }
}
