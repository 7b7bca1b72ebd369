import Spectra
import Transports

/// What one experiment asks of the chemistry: the four factors of the published design.
public struct SynthesisCondition: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// Cadmium concentration in the final 1.2 mL, mM.
    public var cadmiumMillimolar: Double
    /// Selenium concentration in the final 1.2 mL, mM.
    public var seleniumMillimolar: Double
    /// Oleic acid per cadmium, mol/mol.
    public var oleicAcidPerCadmium: Double
    /// Reactor temperature at injection and during growth, °C.
    public var temperatureCelsius: Double

    public init(cadmiumMillimolar: Double, seleniumMillimolar: Double, oleicAcidPerCadmium: Double, temperatureCelsius: Double) {
        self.cadmiumMillimolar = cadmiumMillimolar
        self.seleniumMillimolar = seleniumMillimolar
        self.oleicAcidPerCadmium = oleicAcidPerCadmium
        self.temperatureCelsius = temperatureCelsius
    }

    public var description: String {
        "Cd \(cadmiumMillimolar) mM, Se \(seleniumMillimolar) mM, OA/Cd \(oleicAcidPerCadmium), \(temperatureCelsius) °C"
    }
}

/// One planned experiment of a campaign, numbered from 1 in run order.
public struct PlannedExperiment: Equatable, Sendable {
    public var number: Int
    /// A name from the campaign file, or one made from the condition.
    public var name: String
    public var condition: SynthesisCondition

    public init(number: Int, name: String, condition: SynthesisCondition) {
        self.number = number
        self.name = name
        self.condition = condition
    }
}

/// The fitted result of one spectrum of one aliquot (absorbance or photoluminescence).
public struct AliquotMeasurement: Equatable, Sendable {
    /// The fit, with its status (`fitted`, or why not: too weak, saturated...).
    public var fit: PeakFit
    /// The raw counts as read from the spectrometer (before dark and reference correction).
    public var rawCounts: [Double]
    /// The processed spectrum the fit ran on: absorbance for the UV-vis cell, dark-corrected
    /// counts for the PL cell.
    public var processed: [Double]
    /// The spectrometer's wavelength of each pixel of `rawCounts` and `processed`, nm.
    public var wavelengthsNanometres: [Double]

    public init(fit: PeakFit, rawCounts: [Double], processed: [Double], wavelengthsNanometres: [Double]) {
        self.fit = fit
        self.rawCounts = rawCounts
        self.processed = processed
        self.wavelengthsNanometres = wavelengthsNanometres
    }
}

/// The model's MC-dropout prediction for one aliquot's time, in eV (mean and spread of the passes).
public struct AliquotPrediction: Equatable, Sendable {
    public var peakElectronvolts: Double
    public var peakSpreadElectronvolts: Double
    public var fwhmElectronvolts: Double
    public var fwhmSpreadElectronvolts: Double
    /// The inputs outside the model's training ranges, if any (the prediction extrapolates).
    public var extrapolated: [String]

    public init(
        peakElectronvolts: Double, peakSpreadElectronvolts: Double, fwhmElectronvolts: Double,
        fwhmSpreadElectronvolts: Double, extrapolated: [String] = []
    ) {
        self.peakElectronvolts = peakElectronvolts
        self.peakSpreadElectronvolts = peakSpreadElectronvolts
        self.fwhmElectronvolts = fwhmElectronvolts
        self.fwhmSpreadElectronvolts = fwhmSpreadElectronvolts
        self.extrapolated = extrapolated
    }
}

/// One aliquot: when it was withdrawn, how much, what the spectra gave and what the model expected.
public struct AliquotRecord: Equatable, Sendable {
    public var experimentNumber: Int
    /// 1...20 in the published schedule.
    public var index: Int
    /// The schedule's time after injection, s.
    public var scheduledSeconds: Double
    /// When the sampling valve actually opened, s after injection.
    public var withdrawnSeconds: Double
    /// How long the valve was open, as the control loop measured it, ms.
    public var valveOpenMilliseconds: Double
    /// The volume withdrawn, from the achieved open time and the set pressure, µL.
    public var withdrawnMicrolitres: Double
    /// The reactor temperature at withdrawal, °C.
    public var reactorCelsius: Double
    /// The room temperature at withdrawal, °C (`T_external` of the published schema).
    public var ambientCelsius: Double
    public var absorbance: AliquotMeasurement?
    public var photoluminescence: AliquotMeasurement?
    public var prediction: AliquotPrediction?
    /// Why this aliquot was flagged (outside the prediction interval...), if it was.
    public var anomaly: String?

    public init(
        experimentNumber: Int, index: Int, scheduledSeconds: Double, withdrawnSeconds: Double,
        valveOpenMilliseconds: Double, withdrawnMicrolitres: Double, reactorCelsius: Double, ambientCelsius: Double,
        absorbance: AliquotMeasurement?, photoluminescence: AliquotMeasurement?, prediction: AliquotPrediction?,
        anomaly: String?
    ) {
        self.experimentNumber = experimentNumber
        self.index = index
        self.scheduledSeconds = scheduledSeconds
        self.withdrawnSeconds = withdrawnSeconds
        self.valveOpenMilliseconds = valveOpenMilliseconds
        self.withdrawnMicrolitres = withdrawnMicrolitres
        self.reactorCelsius = reactorCelsius
        self.ambientCelsius = ambientCelsius
        self.absorbance = absorbance
        self.photoluminescence = photoluminescence
        self.prediction = prediction
        self.anomaly = anomaly
    }
}

/// How an experiment ended.
public enum ExperimentOutcome: Equatable, Sendable {
    /// Every aliquot was taken (or the target quench stopped sampling early).
    case completed
    /// It stopped part way: a fault, an abort, a crash found on restart. Growth is not resumable.
    case failed(reason: String)
    /// It never started: an infeasible recipe, or the anomaly policy skipped it.
    case skipped(reason: String)
}

/// Something that happened during a campaign, for the journal and the summary.
public struct CampaignEvent: Equatable, Sendable {
    public enum Kind: String, Equatable, Sendable {
        case phase
        case setpoint
        case injection
        case valvePulse
        case pumpCommand
        case safetyTrip
        case anomaly
        case fault
        case note
    }

    /// Seconds since the campaign started, on the rig clock.
    public var campaignSeconds: Double
    /// The experiment it belongs to, if any.
    public var experimentNumber: Int?
    public var kind: Kind
    public var message: String

    public init(campaignSeconds: Double, experimentNumber: Int?, kind: Kind, message: String) {
        self.campaignSeconds = campaignSeconds
        self.experimentNumber = experimentNumber
        self.kind = kind
        self.message = message
    }
}

/// Where a running campaign puts what it measures and decides: the results folder, the journal.
/// Every call is made in order from the campaign's own task; an error stops the campaign (the rig
/// goes to its safe state) rather than losing a record.
public protocol CampaignRecorder: AnyObject {
    func campaignStarted(name: String, experiments: [PlannedExperiment]) throws
    func experimentStarted(_ experiment: PlannedExperiment) throws
    func aliquot(_ record: AliquotRecord) throws
    func event(_ event: CampaignEvent) throws
    func experimentEnded(_ experiment: PlannedExperiment, outcome: ExperimentOutcome) throws
    /// `virtualSeconds`: rig-clock time of the whole campaign; `wallSeconds`: real time it took.
    func campaignEnded(virtualSeconds: Double, wallSeconds: Double) throws
}
