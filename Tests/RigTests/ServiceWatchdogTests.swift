@testable import Campaign
import Glibc
import LinuxIO
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

@Suite("Health-gated watchdog schedule")
struct ServiceHeartbeatTests {
    static func at(_ seconds: Double) -> MonotonicInstant { MonotonicInstant.zero.adding(seconds: seconds) }

    static func reading(ticks: UInt64, sensorsAt: Double, journal: Bool? = true) -> ServiceHealthReading {
        ServiceHealthReading(
            controlTicks: ticks, sensorReadings: [("reactor", at(sensorsAt)), ("syringe", at(sensorsAt))],
            journalWritable: journal)
    }

    @Test("checks at half of WATCHDOG_USEC: WATCHDOG=1 when healthy, the reasons in STATUS= when not")
    func schedule() {
        var heartbeat = ServiceHeartbeat(watchdogInterval: .seconds(20))
        #expect(heartbeat.checkEverySeconds == 10)
        #expect(heartbeat.watchdog.sensorFreshWithinSeconds == 10)
        #expect(heartbeat.isDue(at: Self.at(0)))
        #expect(heartbeat.check(Self.reading(ticks: 1000, sensorsAt: 99.9), at: Self.at(100)) == [.watchdog])
        #expect(heartbeat.nextCheck == Self.at(110))
        #expect(!heartbeat.isDue(at: Self.at(109.999)))
        #expect(heartbeat.isDue(at: Self.at(110)))
        // The loop stalled: no tick since the check at 100 s.
        #expect(
            heartbeat.check(Self.reading(ticks: 1000, sensorsAt: 109.9), at: Self.at(110))
                == [.status("unhealthy, watchdog not fed: control loop has not ticked since the last check (1000 ticks)")])
        // Ticking again, but both thermocouples were last read 12 s ago (fresh within 10 s).
        #expect(
            heartbeat.check(Self.reading(ticks: 1100, sensorsAt: 108), at: Self.at(120))
                == [.status(
                    "unhealthy, watchdog not fed: reactor: last sensor reading 12 s old (fresh within 10.0 s); syringe: last sensor reading 12 s old (fresh within 10.0 s)"
                )])
        #expect(
            heartbeat.check(Self.reading(ticks: 1200, sensorsAt: 129.9, journal: false), at: Self.at(130))
                == [.status("unhealthy, watchdog not fed: journal is not writable")])
        #expect(heartbeat.check(Self.reading(ticks: 1300, sensorsAt: 139.9), at: Self.at(140)) == [.watchdog])
        #expect(heartbeat.nextCheck == Self.at(150))
    }

    @Test("the status line of a progress report", arguments: [
        (phase: SequencerPhase.sampling, taken: 3, celsius: 239.96 as Double?, peak: 512.345 as Double?, eta: 3601 as Double?,
         line: "experiment 2/5 grid-240C: sampling, aliquot 3/20, reactor 240.0 °C, peak 512.3 nm, 61 min left"),
        (phase: .heating, taken: 0, celsius: 25.04, peak: nil, eta: nil,
         line: "experiment 2/5 grid-240C: heating, reactor 25.0 °C"),
        (phase: .cooling, taken: 20, celsius: nil, peak: 560, eta: 59,
         line: "experiment 2/5 grid-240C: cooling, aliquot 20/20, peak 560.0 nm, 1 min left"),
    ] as [(phase: SequencerPhase, taken: Int, celsius: Double?, peak: Double?, eta: Double?, line: String)])
    func statusLine(phase: SequencerPhase, taken: Int, celsius: Double?, peak: Double?, eta: Double?, line: String) {
        let experiment = PlannedExperiment(
            number: 7, name: "grid-240C",
            condition: SynthesisCondition(cadmiumMillimolar: 10, seleniumMillimolar: 10, oleicAcidPerCadmium: 10, temperatureCelsius: 240))
        let progress = CampaignProgress(
            experiment: experiment, position: 2, count: 5, phase: phase, aliquotsTaken: taken, reactorCelsius: celsius,
            lastPeakNanometres: peak, campaignSeconds: 100, etaSeconds: eta)
        #expect(ServiceNotifications.statusLine(progress, aliquotsPlanned: 20) == line)
    }
}

/// A unix datagram socket bound in a fresh temp directory: what systemd listens on for
/// NOTIFY_SOCKET. Read without blocking, so a synchronous campaign can drain it as it goes.
final class NotifySocketStandIn {
    let descriptor: Int32
    let directory: String
    let path: String

    init() throws {
        var template = Array("/tmp/aliquot-systemd-XXXXXX".utf8CString)
        directory = String(cString: try #require(mkdtemp(&template)))
        path = directory + "/notify"
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(descriptor >= 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8) + [0]
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        try #require(bound == 0, "bind \(path): errno \(errno)")
    }

    deinit {
        close(descriptor)
        unlink(path)
        rmdir(directory)
    }

    /// Every datagram waiting now, oldest first.
    func drain() -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count < 0 { break }
            messages.append(String(decoding: buffer[0..<count], as: UTF8.self))
        }
        return messages
    }
}

/// The rig's own probe, with the control loop's tick count frozen while `stalled`: what a
/// control loop that stopped ticking looks like to the health check.
final class StallableProbe: ServiceHealthProbe {
    let inner: RigHealthProbe
    var stalled = false
    private var lastTicks: UInt64 = 0

    init(_ inner: RigHealthProbe) { self.inner = inner }

    func observe(at now: MonotonicInstant) { inner.observe(at: now) }

    func reading(at now: MonotonicInstant) -> ServiceHealthReading {
        var reading = inner.reading(at: now)
        if stalled { reading.controlTicks = lastTicks }
        lastTicks = reading.controlTicks
        return reading
    }
}

@Suite("aliquot run's sd_notify during a twin campaign")
struct ServiceNotificationsTwinTests {
    /// One message as systemd got it: the campaign's phase and the rig-clock time when it was sent.
    struct Received {
        var phase: SequencerPhase?
        var seconds: Double
        var text: String
    }

    @Test("READY=1 in the safe state, STATUS= progress, WATCHDOG=1 only while healthy, STOPPING=1")
    func campaignUnderSystemd() throws {
        let campaign = try TwinCampaign(
            campaignText: TwinCampaign.campaignText(
                name: "sd-notify", experiments: [("grid-240C-Cd10-Se10-OA10", 240, 10, 10, 10)],
                sampleTimes: [10, 20, 30, 40, 50, 60, 80, 100]))
        let systemd = try NotifySocketStandIn()
        // WatchdogSec=8s: a check every 4 s of the twin's clock.
        let notifier = try SystemdNotifier(socketPath: systemd.path, watchdogInterval: .seconds(8))
        var journalWritable = true
        let probe = StallableProbe(RigHealthProbe(hardware: campaign.hardware) { journalWritable })
        let service = ServiceNotifications(notifier: notifier, probe: probe)
        let start = campaign.hardware.now()
        var received: [Received] = []
        func collect(_ phase: SequencerPhase?) {
            let seconds = campaign.hardware.now().seconds(since: start)
            received += systemd.drain().map { Received(phase: phase, seconds: seconds, text: $0) }
        }

        try campaign.hardware.settleIntoSafeInitialState()
        // The safe initial state, seen on the twin's own lines: every output off.
        #expect(campaign.safeStateViolations().isEmpty)
        for heater in [CampaignHeater.reactor, .syringe] { #expect(campaign.hardware.celsius(of: heater) != nil) }
        try service.ready(status: "sd-notify: 1 experiment, rig in its safe state", at: campaign.hardware.now())
        collect(nil)

        var settings = CampaignRunSettings(prediction: campaign.file.prediction)
        settings.progressEverySeconds = service.progressEverySeconds(default: settings.progressEverySeconds)
        #expect(abs(settings.progressEverySeconds - 4.0 / 3) < 1e-9)
        let runner = CampaignRunner(
            hardware: campaign.hardware, recorder: campaign.results, settings: settings, predictor: nil,
            wallClock: MonotonicClock(),
            onProgress: { progress in
                // Sampling: the journal stops taking writes. Cooling: it is back, but the control
                // loop stalls. Cleaning: healthy again.
                journalWritable = progress.phase != .sampling
                probe.stalled = progress.phase == .cooling
                do {
                    try service.progress(
                        status: ServiceNotifications.statusLine(progress, aliquotsPlanned: 8), at: campaign.hardware.now())
                } catch {
                    Issue.record("notify: \(error)")
                }
                collect(progress.phase)
            })
        let summary = try runner.run(name: campaign.file.name, experiments: campaign.experiments)
        try service.stopping(status: "stopping: rig to its safe state")
        collect(nil)
        #expect(campaign.finish().isEmpty)
        #expect(summary.entries.map(\.outcome) == [.completed])

        let texts = received.map(\.text)
        try #require(texts.count > 10)
        #expect(texts[0] == "READY=1\nSTATUS=sd-notify: 1 experiment, rig in its safe state")
        #expect(texts[1] == "WATCHDOG=1")
        #expect(texts.last == "STOPPING=1\nSTATUS=stopping: rig to its safe state")
        #expect(texts.dropFirst().dropLast().allSatisfy { $0 == "WATCHDOG=1" || $0.hasPrefix("STATUS=") })
        #expect(texts.contains { $0.hasPrefix("STATUS=experiment 1/1 grid-240C-Cd10-Se10-OA10: sampling, aliquot ") })

        func messages(in phases: Set<SequencerPhase>) -> [String] {
            received.filter { $0.phase.map(phases.contains) ?? false }.map(\.text)
        }
        let healthy = messages(in: [.loading, .heating, .settling, .injecting])
        #expect(healthy.filter { $0 == "WATCHDOG=1" }.count >= 2)
        #expect(healthy.filter { $0.contains("unhealthy") }.count == 0)
        let journalDown = messages(in: [.sampling])
        #expect(journalDown.filter { $0 == "WATCHDOG=1" }.count == 0)
        #expect(journalDown.filter { $0 == "STATUS=unhealthy, watchdog not fed: journal is not writable" }.count >= 5)
        let loopStalled = messages(in: [.cooling])
        #expect(loopStalled.filter { $0 == "WATCHDOG=1" }.count == 0)
        #expect(
            loopStalled.filter { $0.hasPrefix("STATUS=unhealthy, watchdog not fed: control loop has not ticked since the last check") }.count
                >= 5)
        #expect(messages(in: [.cleaning]).contains("WATCHDOG=1"))

        // The checks (a ping or the reasons) come every 4 s of rig time, and while healthy never
        // further apart than the 8 s systemd waits.
        let checks = received.filter { $0.text == "WATCHDOG=1" || $0.text.hasPrefix("STATUS=unhealthy") }
        let gaps = zip(checks.dropFirst(), checks).map { $0.seconds - $1.seconds }
        #expect(gaps.allSatisfy { $0 >= 4 - 1e-9 }, "\(gaps)")
        #expect(gaps.allSatisfy { $0 < 8 }, "\(gaps)")
    }
}
