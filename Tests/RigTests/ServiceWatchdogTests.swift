import Rig
import Testing
import Transports

@Suite("Health-gated systemd watchdog")
struct ServiceWatchdogTests {
    static func at(_ seconds: Double) -> MonotonicInstant { MonotonicInstant.zero.adding(seconds: seconds) }

    /// The syringe's thermocouple was read `syringeAge` seconds before `now`.
    static func reading(ticks: UInt64, reactorAt: Double?, journal: Bool? = true, syringeAt: Double) -> ServiceHealthReading {
        ServiceHealthReading(
            controlTicks: ticks,
            sensorReadings: [("reactor", reactorAt.map { at($0) }), ("syringe", at(syringeAt))],
            journalWritable: journal)
    }

    @Test("fed only when the loop ticked, sensors are fresh and the journal writes")
    func gate() {
        var watchdog = ServiceWatchdog(sensorFreshWithinSeconds: 2)
        #expect(watchdog.check(Self.reading(ticks: 100, reactorAt: 9.9, syringeAt: 9.5), now: Self.at(10)) == .feed)
        #expect(watchdog.check(Self.reading(ticks: 150, reactorAt: 10.9, syringeAt: 10.5), now: Self.at(11)) == .feed)
        // The loop stopped ticking: same count as last time.
        #expect(
            watchdog.check(Self.reading(ticks: 150, reactorAt: 11.9, syringeAt: 11.5), now: Self.at(12))
                == .withhold(["control loop has not ticked since the last check (150 ticks)"]))
        // Ticking again, but the reactor's thermocouple has not been read for 5 s.
        #expect(
            watchdog.check(Self.reading(ticks: 200, reactorAt: 8, syringeAt: 9), now: Self.at(13))
                == .withhold(["reactor: last sensor reading 5 s old (fresh within 2.0 s)", "syringe: last sensor reading 4 s old (fresh within 2.0 s)"]))
        #expect(
            watchdog.check(Self.reading(ticks: 250, reactorAt: nil, journal: false, syringeAt: 9.5), now: Self.at(9.6))
                == .withhold(["reactor: no sensor reading yet", "journal is not writable"]))
        #expect(watchdog.check(Self.reading(ticks: 300, reactorAt: 9.6, journal: nil, syringeAt: 9.5), now: Self.at(9.6)) == .feed)
    }
}
