/// The record payloads the dashboard reads (docs/uplink-wire-format.md §Payloads). Unknown
/// members are ignored; a payload missing a required member is skipped by the views, never fatal.

/// A fitted peak (absorbance first-exciton or PL), the published data set's columns.
public struct PeakFit: Equatable, Sendable {
    public var peakNanometers: Double
    public var fwhmNanometers: Double
    public var height: Double
    public var peakElectronvolts: Double?
    public var fwhmElectronvolts: Double?

    init?(_ value: JSONValue?) {
        guard let value, let peak = value["peak_nm"]?.doubleValue, let fwhm = value["fwhm_nm"]?.doubleValue else { return nil }
        peakNanometers = peak
        fwhmNanometers = fwhm
        height = value["height"]?.doubleValue ?? .nan
        peakElectronvolts = value["peak_ev"]?.doubleValue
        fwhmElectronvolts = value["fwhm_ev"]?.doubleValue
    }
}

/// A `sample` record: one aliquot's fitted peaks, the conditions and the model's prediction.
public struct SamplePayload: Equatable, Sendable {
    public var campaign: String
    public var aliquot: Int
    /// Time after injection, s (`t_s`).
    public var timeSeconds: Double
    public var externalCelsius: Double?
    public var cadmiumMillimolar: Double?
    public var seleniumMillimolar: Double?
    public var oleicAcidToCadmium: Double?
    public var reactorCelsius: Double?
    public var uv: PeakFit?
    public var pl: PeakFit?
    /// The board model's predicted absorbance peak and FWHM (nm) for this time.
    public var predictedPeakNanometers: Double?
    public var predictedFWHMNanometers: Double?

    public init?(json text: String) {
        guard let value = try? JSONValue.parse(text) else { return nil }  // a payload the board sent is checked on ingest
        guard let campaign = value["campaign"]?.stringValue, let aliquot = value["aliquot"]?.int64Value,
            let time = value["t_s"]?.doubleValue
        else { return nil }
        self.campaign = campaign
        self.aliquot = Int(aliquot)
        timeSeconds = time
        externalCelsius = value["T_external"]?.doubleValue
        cadmiumMillimolar = value["Cd_mM"]?.doubleValue
        seleniumMillimolar = value["Se_mM"]?.doubleValue
        oleicAcidToCadmium = value["OA_Cd_ratio"]?.doubleValue
        reactorCelsius = value["T_reactor"]?.doubleValue
        uv = PeakFit(value["uv"])
        pl = PeakFit(value["pl"])
        predictedPeakNanometers = value["prediction"]?["peak_nm"]?.doubleValue
        predictedFWHMNanometers = value["prediction"]?["fwhm_nm"]?.doubleValue
    }
}

/// A `spectrum` record: one aliquot's absorbance (`uv`) or PL (`pl`) spectrum.
public struct SpectrumPayload: Equatable, Sendable {
    public var aliquot: Int
    public var timeSeconds: Double
    public var channel: String
    public var processed: Bool
    public var wavelengthsNanometers: [Double]
    public var values: [Double]

    public init?(json text: String) {
        guard let value = try? JSONValue.parse(text) else { return nil }
        guard let aliquot = value["aliquot"]?.int64Value, let channel = value["channel"]?.stringValue,
            let wavelengths = value["wavelength_nm"]?.arrayValue?.compactMap(\.doubleValue),
            let values = value["values"]?.arrayValue?.compactMap(\.doubleValue), wavelengths.count == values.count
        else { return nil }
        self.aliquot = Int(aliquot)
        timeSeconds = value["t_s"]?.doubleValue ?? 0
        self.channel = channel
        processed = value["processed"]?.boolValue ?? false
        wavelengthsNanometers = wavelengths
        self.values = values
    }
}

/// An `event` record.
public struct EventPayload: Equatable, Sendable {
    /// `state`, `phase`, `safety`, `alarm`, `setpoint`, `valve`, `pump`, `campaign`...
    public var type: String
    public var message: String
    /// `info`, `warning` or `critical`.
    public var severity: String
    /// For `alarm`: the alarm's name and whether it is now active.
    public var alarm: String?
    public var active: Bool?
    /// For `campaign`: the campaign and how many experiments it plans.
    public var campaign: String?
    public var plannedExperiments: Int?

    public init?(json text: String) {
        guard let value = try? JSONValue.parse(text), let type = value["type"]?.stringValue else { return nil }
        self.type = type
        message = value["message"]?.stringValue ?? ""
        severity = value["severity"]?.stringValue ?? "info"
        alarm = value["alarm"]?.stringValue
        active = value["active"]?.boolValue
        campaign = value["campaign"]?.stringValue
        plannedExperiments = value["planned_experiments"]?.int64Value.map { Int($0) }
    }
}

/// What a device's events say now: its state, active alarms, campaign plan.
public struct DeviceStatus: Equatable, Sendable {
    public var state: String?
    public var activeAlarms: [String] = []
    public var campaign: String?
    public var plannedExperiments: Int?

    public init() {}

    /// Folds events in time order.
    public mutating func apply(_ event: EventPayload) {
        switch event.type {
        case "state": state = event.message
        case "alarm":
            guard let name = event.alarm else { return }
            activeAlarms.removeAll { $0 == name }
            if event.active ?? true { activeAlarms.append(name) }
        case "campaign":
            campaign = event.campaign ?? campaign
            plannedExperiments = event.plannedExperiments ?? plannedExperiments
        default: break
        }
    }
}
