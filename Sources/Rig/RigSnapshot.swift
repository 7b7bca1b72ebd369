import Config
import Devices
import Transports

/// What the rig reads and drives at one instant: every thermocouple and every output.
public struct RigSnapshot: Sendable {
    /// One thermocouple's reading, or why there is none.
    public struct ThermocoupleSample: Sendable {
        public var name: String
        public var hotCelsius: Double?
        public var coldCelsius: Double?
        /// A converter-reported sensor fault (open, short, input range).
        public var fault: ThermocoupleFault?
        /// A failed read (after the driver's retry), with its context.
        public var error: String?

        /// A usable temperature: read, no fault, no error.
        public var usableCelsius: Double? { fault == nil && error == nil ? hotCelsius : nil }
    }

    /// One output's state.
    public struct OutputSample: Sendable {
        public var id: String
        public var isOn: Bool
        /// For heaters, the time-proportioning duty.
        public var duty: Double?
    }

    /// Seconds since the rig was built.
    public var seconds: Double
    public var thermocouples: [ThermocoupleSample]
    public var outputs: [OutputSample]
    /// Heater cuts made by the hard limits at this instant, as sentences.
    public var cuts: [String]

    public func thermocouple(_ name: String) -> ThermocoupleSample? {
        thermocouples.first { $0.name == name }
    }

    public func output(_ id: String) -> OutputSample? {
        outputs.first { $0.id == id }
    }
}

extension Rig {
    /// Reads every thermocouple (each failure is recorded in its sample, not thrown: one dead
    /// sensor must not hide the others) and the state of every output.
    public func sample() -> RigSnapshot {
        let samples = thermocouples.map { thermocouple in
            var sample = RigSnapshot.ThermocoupleSample(name: thermocouple.config.name)
            do {
                let reading = try thermocouple.converter.read()
                sample.hotCelsius = reading.hotJunctionCelsius
                sample.coldCelsius = reading.coldJunctionCelsius
                sample.fault = reading.fault
            } catch {
                sample.error = String(describing: error)
            }
            return sample
        }
        return RigSnapshot(seconds: elapsedSeconds(), thermocouples: samples, outputs: outputSamples(), cuts: [])
    }

    /// The state of every output (heaters with their duty, then valves).
    public func outputSamples() -> [RigSnapshot.OutputSample] {
        heaters.map { RigSnapshot.OutputSample(id: $0.output.id, isOn: $0.output.isOn, duty: $0.output.duty) }
            + valves.map { RigSnapshot.OutputSample(id: $0.valve.id, isOn: $0.valve.isOpen, duty: nil) }
    }
}
