import Testing
@testable import Twin

@Suite struct SamplingLineTests {
    /// A fixed chemistry: one exciton and one emission band whatever the time, so the test sees
    /// only what the line does to them.
    static let band = CdSeOutcome(
        exciton: ExcitonBand(peakNanometres: 520, fwhmNanometres: 30, height: 0.4),
        emission: EmissionBand(peakNanometres: 540, fwhmNanometres: 28, countsPerSecond: 100_000, trapRelativeHeight: 0.1))

    final class Rig {
        var millibar = 600.0
        var withdrawn: [(Double, Double)] = []
        var sampledAt: [Double] = []
        let absorbance = SpectrometerOptics(kind: .absorbance, sample: .none, cell: .blank, sourceCountsPerMillisecond: 5000)
        let emission = SpectrometerOptics(kind: .emission, sample: .none, cell: .blank, sourceCountsPerMillisecond: 2)
        lazy var line = SimulatedSamplingLine(
            parameters: .rig, headSpaceMillibar: { [unowned self] _ in self.millibar },
            withdraw: { [unowned self] microlitres, seconds in
                self.withdrawn.append((microlitres, seconds))
                return microlitres
            },
            chemistry: { [unowned self] seconds in
                self.sampledAt.append(seconds)
                return SamplingLineTests.band
            },
            absorbanceCell: absorbance, emissionCell: emission)
    }

    @Test func theRigsParametersGiveTheDocumentedNumbers() {
        let rig = SimulatedSamplingLine.Parameters.rig
        // 600 mbar / 6.52 mbar·s/µL = 92.0 µL/s: 40 µL in 0.435 s.
        #expect(Swift.abs(40 * rig.resistanceMillibarSecondsPerMicrolitre / 600 - 0.4347) < 1e-4)
        #expect(Swift.abs(rig.absorbanceDelaySeconds - 2) < 1e-12)
        #expect(Swift.abs(rig.emissionDelaySeconds - 2.6) < 1e-12)
        #expect(Swift.abs(rig.relativeConcentration(aliquotMicrolitres: 40) - 1) < 1e-12)
        // 20 µL: (20/100) / (40/120) = 0.6.
        #expect(Swift.abs(rig.relativeConcentration(aliquotMicrolitres: 20) - 0.6) < 1e-12)
        #expect(rig.relativeConcentration(aliquotMicrolitres: 0) == 0)
    }

    @Test func aPulseWithdrawsPressureOverResistanceTimesItsLength() throws {
        let rig = Rig()
        rig.line.setValve(open: true, at: 10)
        for k in 1...10 { rig.line.advance(to: 10 + 0.05 * Double(k)) }
        rig.line.setValve(open: false, at: 10.5)
        let aliquot = try #require(rig.line.aliquots.last)
        #expect(Swift.abs(aliquot.microlitres - 600 / 6.52 * 0.5) < 1e-9)
        #expect(Swift.abs(aliquot.withdrawalSeconds - 10.25) < 1e-9)
        #expect(rig.sampledAt.count == 1 && Swift.abs(rig.sampledAt[0] - 10.25) < 1e-9)
        #expect(rig.withdrawn.count == 1 && Swift.abs(rig.withdrawn[0].0 - aliquot.microlitres) < 1e-12)
    }

    /// A pressure falling linearly while open: the trapezoid is exact, and the withdrawal time is
    /// the flow-weighted mean ∫t·Q dt / ∫Q dt.
    @Test func aFallingPressureIsIntegratedExactly() throws {
        let rig = Rig()
        rig.millibar = 600
        rig.line.setValve(open: true, at: 0)
        rig.millibar = 200
        rig.line.setValve(open: false, at: 1)
        let aliquot = try #require(rig.line.aliquots.last)
        // Q from 600/R to 200/R over 1 s: V = 400/R; ∫t Q dt = (1/R)(600/2 − 400/3) = (1/R)·500/3.
        let r = 6.52
        #expect(Swift.abs(aliquot.microlitres - 400 / r) < 1e-9)
        #expect(Swift.abs(aliquot.withdrawalSeconds - (500.0 / 3) / 400) < 1e-12)
    }

    @Test func theSlugReachesEachCellAfterItsTransportDelay() throws {
        let rig = Rig()
        rig.line.setValve(open: true, at: 20)
        rig.line.setValve(open: false, at: 20 + 40 * 6.52 / 600)
        let closed = 20 + 40 * 6.52 / 600
        #expect(rig.absorbance.cell == .blank)
        rig.line.advance(to: closed + 1.99)
        #expect(rig.absorbance.cell == .blank)
        rig.line.advance(to: closed + 2.0)
        #expect(rig.absorbance.cell == .sample)
        #expect(rig.emission.cell == .blank)
        rig.line.advance(to: closed + 2.6)
        #expect(rig.emission.cell == .sample)
        // A nominal 40 µL aliquot: the published heights as they are.
        let exciton = try #require(rig.absorbance.sample.exciton)
        #expect(Swift.abs(exciton.height - 0.4) < 1e-9)
        #expect(exciton.peakNanometres == 520)
        let emission = try #require(rig.emission.sample.emission)
        #expect(Swift.abs(emission.countsPerSecond - 100_000) < 1e-6)
    }

    @Test func aSmallAliquotIsDiluteAndAStuckValveBringsNothing() throws {
        let rig = Rig()
        // Half the pressure and a 0.1 s pulse: 300 / 6.52 × 0.1 = 4.6 µL.
        rig.millibar = 300
        rig.line.setValve(open: true, at: 0)
        rig.line.setValve(open: false, at: 0.1)
        rig.line.advance(to: 5)
        let small = 300 / 6.52 * 0.1
        let expected = 0.4 * (small / (small + 80)) / (40.0 / 120)
        #expect(Swift.abs(try #require(rig.absorbance.sample.exciton).height - expected) < 1e-9)
        #expect(expected < 0.07)

        rig.line.resistanceMultiplier = .infinity
        rig.millibar = 600
        rig.line.setValve(open: true, at: 10)
        rig.line.setValve(open: false, at: 10.5)
        rig.line.advance(to: 15)
        #expect(rig.line.aliquots.last?.microlitres == 0)
        #expect(rig.absorbance.sample == .none)
        #expect(rig.emission.sample == .none)
        #expect(rig.absorbance.cell == .sample)
        // Nothing taken from the reactor, and the chemistry not asked.
        #expect(rig.withdrawn.count == 1)
        #expect(rig.sampledAt.count == 1)

        // No pressure: no flow.
        rig.line.resistanceMultiplier = 1
        rig.millibar = 0
        rig.line.setValve(open: true, at: 20)
        rig.line.setValve(open: false, at: 21)
        #expect(rig.line.aliquots.last?.microlitres == 0)
    }

    @Test func aFlushBlanksTheCellsUntilTheNextSlug() {
        let rig = Rig()
        rig.line.setValve(open: true, at: 0)
        rig.line.setValve(open: false, at: 0.4)
        rig.line.advance(to: 1)
        // Flushed while the slug is still in the line: it never arrives.
        rig.line.flush(at: 1)
        rig.line.advance(to: 10)
        #expect(rig.absorbance.cell == .blank)
        #expect(rig.emission.cell == .blank)
        rig.line.setValve(open: true, at: 20)
        rig.line.setValve(open: false, at: 20.4)
        rig.line.advance(to: 30)
        #expect(rig.absorbance.cell == .sample)
        #expect(rig.emission.cell == .sample)
    }

    @Test func anAliquotFromAnotherModelIsTransportedTheSameWay() throws {
        let rig = Rig()
        rig.line.receiveAliquot(microlitres: 20, openedSeconds: 100, closedSeconds: 100.5)
        rig.line.advance(to: 103.2)
        let aliquot = try #require(rig.line.aliquots.last)
        #expect(aliquot.withdrawalSeconds == 100.25)
        #expect(Swift.abs(aliquot.relativeConcentration - 0.6) < 1e-12)
        #expect(Swift.abs(try #require(rig.absorbance.sample.exciton).height - 0.24) < 1e-12)
        #expect(rig.emission.cell == .sample)
    }

    /// The whole twin chain: contents, chemistry, line, cells; the aliquots leave the reactor.
    @Test func theReactorsChemistryReachesTheCells() throws {
        let contents = ReactorContentsTests().loaded(injectAt: 100)
        let chemistry = ReactorChemistry(contents: contents, seed: 3, runToRun: .none, perAliquot: .none) { _ in 240 }
        let absorbance = SpectrometerOptics(kind: .absorbance, sample: .none, cell: .blank, sourceCountsPerMillisecond: 5000)
        let line = SimulatedSamplingLine(chemistry: chemistry, headSpaceMillibar: { _ in 600 }, absorbanceCell: absorbance, emissionCell: nil)
        let open = 40 * 6.52 / 600
        line.setValve(open: true, at: 160 - open / 2)
        line.setValve(open: false, at: 160 + open / 2)
        line.advance(to: 165)
        let condition = CdSeCondition(cadmiumMillimolar: 40, seleniumMillimolar: 20, oleicAcidPerCadmium: 10, reactorCelsius: 240)
        let expected = try #require(CdSeGrowthModel.calibrated.outcome(condition, secondsSinceInjection: 60).exciton)
        let exciton = try #require(absorbance.sample.exciton)
        #expect(Swift.abs(exciton.peakNanometres - expected.peakNanometres) < 1e-9)
        #expect(Swift.abs(exciton.height - expected.height) < 1e-9)
        #expect(Swift.abs(contents.volumeMicrolitres - 1160) < 1e-9)
    }
}
