/// The fluidics from the reactor to the flow cells: the sampling valve, the cooling coil, the
/// diluent and the two cells.
///
/// While the valve is open the head-space pressure drives the mixture through the sampling line
/// (laminar flow, Hagen-Poiseuille):
///
///     Q = P / R,  V = ∫ Q dt   (trapezoid over the pressures seen while open)
///
/// R = 6.52 mbar·s/µL is Devices' `SamplingLine.hagenPoiseuille` for the rig's 500 mm of 0.5 mm
/// bore PTFE at 2 mPa·s (128 μ L / π d⁴ = 6.52e11 Pa·s/m³): 92 µL/s at the rig's 600 mbar, so
/// the published ~40 µL aliquot takes a 0.43 s pulse. The aliquot, quenched in the water-cooled coil, joins
/// `mixingMicrolitres` (80 µL) of diluent in the in-line mixer, so the cells see it at
/// V / (V + 80) of the reactor's concentration: 1/3 for the nominal 40 µL. The published heights
/// (0.02-1.2 absorbance through the 2 mm cell) are those of the nominal aliquot, so a
/// withdrawal of V gives them times
///
///     c_rel = [V / (V + V_mix)] / [V_nom / (V_nom + V_mix)]
///
/// (a reactor absorbance of about 0.3-3.6 through 2 mm, kept in the detector's linear range by
/// the dilution). The diluent stream (`carrierMicrolitresPerMinute`, 3 mL/min) then pushes the
/// slug through the coil and tubing (`transferMicrolitres`, 100 µL: 2 s) into the absorbance cell
/// and on (`cellToCellMicrolitres`, 30 µL: 0.6 s more) into the PL cell, where it stays until the
/// next aliquot arrives or the cells are flushed. A withdrawal too small (valve stuck or clogged,
/// no pressure, an empty reactor) brings too few dots: weak or no signal, as on the real rig.
///
/// The cells show the chemistry at the aliquot's flow-weighted withdrawal time (quenched in the
/// coil). (Named apart from Devices' `SamplingLine`, the controller's resistance value, so the
/// composition root can import both.) Time only moves forward; call `advance(to:)` before a spectrum is taken (every control
/// tick is simplest), `setValve` as the valve line switches, `flush` when the cells are rinsed.
public final class SimulatedSamplingLine {
    /// The line's geometry and flows.
    public struct Parameters: Equatable, Sendable {
        /// Sampling line and valve, mbar·s/µL.
        public var resistanceMillibarSecondsPerMicrolitre: Double
        /// Diluent the aliquot is mixed into, µL.
        public var mixingMicrolitres: Double
        /// The aliquot the published heights belong to, µL.
        public var nominalAliquotMicrolitres: Double
        /// Valve to the absorbance cell (cooling coil and tubing), µL.
        public var transferMicrolitres: Double
        /// Absorbance cell to PL cell, µL.
        public var cellToCellMicrolitres: Double
        /// The diluent stream that carries the slug, µL/min.
        public var carrierMicrolitresPerMinute: Double

        public init(
            resistanceMillibarSecondsPerMicrolitre: Double = 6.52, mixingMicrolitres: Double = 80, nominalAliquotMicrolitres: Double = 40,
            transferMicrolitres: Double = 100, cellToCellMicrolitres: Double = 30, carrierMicrolitresPerMinute: Double = 3000
        ) {
            precondition(resistanceMillibarSecondsPerMicrolitre > 0 && mixingMicrolitres >= 0 && nominalAliquotMicrolitres > 0
                && transferMicrolitres >= 0 && cellToCellMicrolitres >= 0 && carrierMicrolitresPerMinute > 0,
                "a sampling line has positive resistance, aliquot and carrier flow")
            self.resistanceMillibarSecondsPerMicrolitre = resistanceMillibarSecondsPerMicrolitre
            self.mixingMicrolitres = mixingMicrolitres
            self.nominalAliquotMicrolitres = nominalAliquotMicrolitres
            self.transferMicrolitres = transferMicrolitres
            self.cellToCellMicrolitres = cellToCellMicrolitres
            self.carrierMicrolitresPerMinute = carrierMicrolitresPerMinute
        }

        /// The published rig's line as the type's notes derive it.
        public static let rig = Parameters()

        /// Seconds from the valve closing to the slug in the absorbance cell.
        public var absorbanceDelaySeconds: Double { transferMicrolitres * 60 / carrierMicrolitresPerMinute }
        /// Seconds from the valve closing to the slug in the PL cell.
        public var emissionDelaySeconds: Double { (transferMicrolitres + cellToCellMicrolitres) * 60 / carrierMicrolitresPerMinute }

        /// The cells' concentration relative to the published (nominal-aliquot) one for an aliquot
        /// of `microlitres`.
        public func relativeConcentration(aliquotMicrolitres microlitres: Double) -> Double {
            guard microlitres > 0 else { return 0 }
            let nominal = nominalAliquotMicrolitres / (nominalAliquotMicrolitres + mixingMicrolitres)
            return microlitres / (microlitres + mixingMicrolitres) / nominal
        }
    }

    /// One valve opening and what it brought.
    public struct Aliquot: Equatable, Sendable {
        public var openedSeconds: Double
        public var closedSeconds: Double
        /// What left the reactor, µL.
        public var microlitres: Double
        /// The flow-weighted mean time of the withdrawal: when the chemistry was sampled, s.
        public var withdrawalSeconds: Double
        /// The cells' concentration relative to the published one.
        public var relativeConcentration: Double
        /// The chemistry at the withdrawal (published dilution).
        public var outcome: CdSeOutcome
        /// What the cells hold once it arrives.
        public var sample: CurrentSample
        public var absorbanceArrivalSeconds: Double
        public var emissionArrivalSeconds: Double
    }

    public let parameters: Parameters
    /// Multiplies the line's resistance (1 normally; a partial clog more; `.infinity`: the valve
    /// stuck closed).
    public var resistanceMultiplier = 1.0 {
        didSet { precondition(resistanceMultiplier > 0, "a resistance multiplier is positive") }
    }
    public private(set) var isOpen = false
    /// Every opening so far, oldest first.
    public private(set) var aliquots: [Aliquot] = []

    private let headSpaceMillibar: (Double) -> Double
    private let withdraw: (Double, Double) -> Double
    private let chemistry: (Double) -> CdSeOutcome
    private let absorbanceCell: SpectrometerOptics?
    private let emissionCell: SpectrometerOptics?

    /// The opening in progress: when it opened, the last pressure seen, ∫Q dt and ∫t·Q dt so far.
    private var opening: (opened: Double, lastSeconds: Double, lastFlow: Double, volume: Double, timeVolume: Double)?
    /// Slugs on their way: (arrival, which cell, sample).
    private var inTransit: [(seconds: Double, absorbance: Bool, sample: CurrentSample)] = []
    private var now = -Double.infinity

    /// - Parameters:
    ///   - headSpaceMillibar: the reactor's head-space pressure (gauge) at a time.
    ///   - withdraw: takes up to the µL given from the reactor at a time and returns what it took.
    ///   - chemistry: the outcome of an aliquot withdrawn at a time (published dilution).
    ///   - absorbanceCell, emissionCell: the cells' optics, set as slugs arrive.
    public init(
        parameters: Parameters = .rig, headSpaceMillibar: @escaping (Double) -> Double,
        withdraw: @escaping (Double, Double) -> Double, chemistry: @escaping (Double) -> CdSeOutcome,
        absorbanceCell: SpectrometerOptics?, emissionCell: SpectrometerOptics?
    ) {
        self.parameters = parameters
        self.headSpaceMillibar = headSpaceMillibar
        self.withdraw = withdraw
        self.chemistry = chemistry
        self.absorbanceCell = absorbanceCell
        self.emissionCell = emissionCell
    }

    /// The line fed by the twin's reactor chemistry: withdrawals come out of its contents.
    public convenience init(
        parameters: Parameters = .rig, chemistry: ReactorChemistry, headSpaceMillibar: @escaping (Double) -> Double,
        absorbanceCell: SpectrometerOptics?, emissionCell: SpectrometerOptics?
    ) {
        self.init(
            parameters: parameters, headSpaceMillibar: headSpaceMillibar,
            withdraw: { microlitres, seconds in chemistry.contents.withdraw(microlitres: microlitres, at: seconds) },
            chemistry: { seconds in chemistry.outcome(at: seconds) },
            absorbanceCell: absorbanceCell, emissionCell: emissionCell)
    }

    /// The flow through the open valve at a head-space pressure, µL/s (none backwards).
    public func flowMicrolitresPerSecond(atMillibar millibar: Double) -> Double {
        max(millibar, 0) / (parameters.resistanceMillibarSecondsPerMicrolitre * resistanceMultiplier)
    }

    /// The sampling valve's line switches at `seconds`.
    public func setValve(open: Bool, at seconds: Double) {
        advance(to: seconds)
        guard open != isOpen else { return }
        isOpen = open
        if open {
            opening = (now, now, flowMicrolitresPerSecond(atMillibar: headSpaceMillibar(now)), 0, 0)
        } else if let done = opening {
            opening = nil
            finish(done)
        }
    }

    /// Moves the line to `seconds`: integrates the flow while open and puts arriving slugs into
    /// the cells.
    public func advance(to seconds: Double) {
        guard seconds > now else { return }
        now = seconds
        if var open = opening, seconds > open.lastSeconds {
            let flow = flowMicrolitresPerSecond(atMillibar: headSpaceMillibar(seconds))
            let dt = seconds - open.lastSeconds
            open.volume += (open.lastFlow + flow) / 2 * dt
            // ∫ t Q dt for Q linear over the step.
            open.timeVolume += dt * (open.lastSeconds * (2 * open.lastFlow + flow) + seconds * (open.lastFlow + 2 * flow)) / 6
            open.lastSeconds = seconds
            open.lastFlow = flow
            opening = open
        }
        deliverArrivals(upTo: seconds)
    }

    /// Rinses both cells with diluent at `seconds`: they hold the blank until the next slug.
    public func flush(at seconds: Double) {
        advance(to: seconds)
        inTransit.removeAll()
        absorbanceCell?.cell = .blank
        emissionCell?.cell = .blank
    }

    /// An aliquot whose volume another model worked out (the head space's exact discharge,
    /// `ReactorHeadspace.withdraw(throughResistance:seconds:)`), withdrawn between `openedSeconds`
    /// and now (`closedSeconds`): takes it from the reactor and sends it to the cells like a valve
    /// opening of this line would. The chemistry is sampled at the opening's midpoint.
    public func receiveAliquot(microlitres: Double, openedSeconds: Double, closedSeconds: Double) {
        precondition(microlitres >= 0 && microlitres.isFinite && openedSeconds <= closedSeconds, "an aliquot has a volume and a duration")
        advance(to: closedSeconds)
        let middle = (openedSeconds + closedSeconds) / 2
        finish((openedSeconds, closedSeconds, 0, microlitres, microlitres * middle))
    }

    private func finish(_ done: (opened: Double, lastSeconds: Double, lastFlow: Double, volume: Double, timeVolume: Double)) {
        let taken = done.volume > 0 ? withdraw(done.volume, now) : 0
        let withdrawal = done.volume > 0 ? done.timeVolume / done.volume : (done.opened + now) / 2
        let relative = parameters.relativeConcentration(aliquotMicrolitres: taken)
        let outcome = taken > 0 ? chemistry(withdrawal) : .noSignal
        let sample = taken > 0 ? outcome.sample(relativeConcentration: relative) : .none
        let aliquot = Aliquot(
            openedSeconds: done.opened, closedSeconds: now, microlitres: taken, withdrawalSeconds: withdrawal,
            relativeConcentration: relative, outcome: outcome, sample: sample,
            absorbanceArrivalSeconds: now + parameters.absorbanceDelaySeconds,
            emissionArrivalSeconds: now + parameters.emissionDelaySeconds)
        aliquots.append(aliquot)
        inTransit.append((aliquot.absorbanceArrivalSeconds, true, sample))
        inTransit.append((aliquot.emissionArrivalSeconds, false, sample))
        inTransit.sort { $0.seconds < $1.seconds }
        deliverArrivals(upTo: now)
    }

    private func deliverArrivals(upTo seconds: Double) {
        while let first = inTransit.first, first.seconds <= seconds {
            inTransit.removeFirst()
            let cell = first.absorbance ? absorbanceCell : emissionCell
            cell?.sample = first.sample
            cell?.cell = .sample
        }
    }
}
