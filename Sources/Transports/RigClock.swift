/// A point on a monotonic time line, in nanoseconds from an arbitrary origin.
public struct MonotonicInstant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = MonotonicInstant(nanoseconds: 0)

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public func adding(nanoseconds delta: Int64) -> MonotonicInstant {
        MonotonicInstant(nanoseconds: nanoseconds + delta)
    }

    public func adding(seconds delta: Double) -> MonotonicInstant {
        adding(nanoseconds: Int64((delta * 1e9).rounded()))
    }

    public func adding(_ duration: Duration) -> MonotonicInstant {
        adding(nanoseconds: duration.totalNanoseconds)
    }

    /// Seconds from `earlier` to this instant (negative if `earlier` is later).
    public func seconds(since earlier: MonotonicInstant) -> Double {
        Double(nanoseconds - earlier.nanoseconds) / 1e9
    }

    public var description: String {
        let seconds = Double(nanoseconds) / 1e9
        return "t=\(seconds)s"
    }
}

extension Duration {
    /// The whole duration in nanoseconds (sub-nanosecond parts dropped).
    public var totalNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// The clock of the rig: monotonic on hardware, virtual in the twin.
///
/// Time is injected everywhere through this protocol, so the same control code runs in real time
/// on a board and as fast as the CPU allows (deterministically) in the twin.
public protocol RigClock: AnyObject {
    /// The current instant.
    func now() -> MonotonicInstant

    /// Blocks until `deadline` (an absolute instant, so periodic loops do not drift). Returns at
    /// once if the deadline has passed. A virtual clock jumps to the deadline.
    func sleep(until deadline: MonotonicInstant) throws(ClockError)
}

/// A clock that could not sleep or read the time.
public struct ClockError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: String
    public var errno: Int32

    public init(operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String { "clock: \(operation) failed (errno \(errno))" }
}
