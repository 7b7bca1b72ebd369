import Testing
@testable import Control

struct HeatSequenceTests {
    static let injection = HeatSequence.Injection(feedForwardDuty: 0.1, feedForwardSeconds: 10)

    /// Drives the sequence with a reading that follows `profile(t)` every `step` seconds.
    static func run(
        _ plan: HeatSequence.Plan, until end: Double, step: Double = 1, tripAt: Double? = nil,
        profile: (Double) -> Double?
    ) -> (sequence: HeatSequence, log: [(Double, HeatSequence.Action)]) {
        var sequence = HeatSequence(plan: plan)
        var log: [(Double, HeatSequence.Action)] = []
        var t = 0.0
        while t <= end && sequence.phase != .finished {
            let tripped = tripAt.map { t >= $0 } == true ? "reactor" : nil
            for action in sequence.step(at: t, reactorCelsius: profile(t), trippedLoop: tripped) {
                log.append((t, action))
            }
            t += step
        }
        return (sequence, log)
    }

    @Test func aWholeRunSetsHeatsSettlesHoldsInjectsRecoversAndIdles() throws {
        let plan = HeatSequence.Plan(
            reactorSetpoint: 240, syringeSetpoint: 60, settledFor: 60, hold: 30, injection: Self.injection,
            recovery: 100)
        // Reaches the band at 200 s, leaves it once at 230 s, then stays.
        let (sequence, log) = Self.run(plan, until: 2000) { t in
            t < 200 ? 25 + t : (t == 230 ? 241 : 240.2)
        }
        #expect(log.map(\.1) == [
            .setSetpoint(loop: "reactor", celsius: 240), .setSetpoint(loop: "syringe", celsius: 60),
            .inject(Self.injection),
            .setSetpoint(loop: "reactor", celsius: nil), .setSetpoint(loop: "syringe", celsius: nil),
            .finish(.completed),
        ])
        // In band again from 231 s, settled 60 s later, injection 30 s after that, end 100 s later.
        #expect(sequence.settledAt == 291)
        #expect(sequence.injectedAt == 321)
        #expect(log.last?.0 == 421)
        #expect(sequence.outcome == .completed)
    }

    @Test func withoutAnInjectionTheRunEndsAfterTheHold() {
        let plan = HeatSequence.Plan(reactorSetpoint: 210, syringeSetpoint: nil, settledFor: 10, hold: 5, injection: nil)
        let (sequence, log) = Self.run(plan, until: 100) { _ in 210 }
        #expect(log.map(\.1) == [
            .setSetpoint(loop: "reactor", celsius: 210), .setSetpoint(loop: "reactor", celsius: nil), .finish(.completed),
        ])
        #expect(sequence.injectedAt == nil)
        // The first step only sets the setpoints; in band from 1 s, settled at 11 s, held to 16 s.
        #expect(log.last?.0 == 16)
    }

    @Test func aRunThatNeverSettlesGivesUpAtTheTimeout() {
        let plan = HeatSequence.Plan(
            reactorSetpoint: 300, syringeSetpoint: nil, injection: Self.injection, settleTimeout: 500)
        let (sequence, log) = Self.run(plan, until: 10_000) { _ in 280 }
        #expect(sequence.outcome == .notSettled(afterSeconds: 500))
        #expect(log.last?.0 == 500)
    }

    @Test func aTripEndsTheRunAtOnceAndIdlesEveryLoop() {
        let plan = HeatSequence.Plan(reactorSetpoint: 240, syringeSetpoint: 60, injection: Self.injection)
        let (sequence, log) = Self.run(plan, until: 10_000, tripAt: 42) { _ in nil }
        #expect(sequence.outcome == .tripped(loop: "reactor"))
        #expect(log.suffix(3).map(\.1) == [
            .setSetpoint(loop: "reactor", celsius: nil), .setSetpoint(loop: "syringe", celsius: nil),
            .finish(.tripped(loop: "reactor")),
        ])
        #expect(log.last?.0 == 42)
        // Nothing more once finished.
        var finished = sequence
        #expect(finished.step(at: 50, reactorCelsius: 240, trippedLoop: nil).isEmpty)
    }

    @Test func aMissingReadingResetsTheSettlingClock() {
        let plan = HeatSequence.Plan(reactorSetpoint: 240, syringeSetpoint: nil, settledFor: 10, hold: 0, injection: nil)
        let (sequence, _) = Self.run(plan, until: 100) { t in t == 5 ? nil : 240 }
        #expect(sequence.settledAt == 16)
    }
}
