import Config

/// The board's hard limits on heating, checked against a sample: a heater may run only while its
/// thermocouple gives a usable reading, inside the thermocouple's plausible range, below the
/// heater's `max_c`. The heat-control layer adds its own checks on top; this one never goes away.
public enum HardLimits {
    /// Why `heater` must be off given `sample`, or nil when it may run.
    public static func cutReason(heater: HeaterConfig, thermocouple: ThermocoupleConfig?,
                                 sample: RigSnapshot.ThermocoupleSample?) -> String?
    {
        guard let thermocouple, let sample else {
            return "heater.\(heater.name): no reading from thermocouple.\(heater.thermocouple)"
        }
        if let error = sample.error {
            return "heater.\(heater.name): thermocouple.\(thermocouple.name) unreadable (\(error))"
        }
        if let fault = sample.fault {
            return "heater.\(heater.name): thermocouple.\(thermocouple.name) reports \(fault)"
        }
        guard let celsius = sample.hotCelsius else {
            return "heater.\(heater.name): no reading from thermocouple.\(thermocouple.name)"
        }
        if celsius < thermocouple.minC || celsius > thermocouple.maxC {
            return "heater.\(heater.name): thermocouple.\(thermocouple.name) reads \(celsius) °C, "
                + "outside its plausible range \(thermocouple.minC) to \(thermocouple.maxC) °C"
        }
        if celsius >= heater.maxC {
            return "heater.\(heater.name): thermocouple.\(thermocouple.name) reads \(celsius) °C, "
                + "at or above the hard limit max_c = \(heater.maxC) °C"
        }
        return nil
    }
}
