import Glibc
import Transports

/// Fluigent's SDK (`libfgt_SDK.so`, closed source, prebuilt for arm, arm64 and x64 Linux),
/// loaded at run time with `dlopen`, so the controller builds and runs without it and says
/// clearly when a board that needs it lacks it (PROTOCOLS.md §5).
///
/// The functions bound, with their C signatures from Fluigent's public header `fgt_SDK.h`
/// (fgt-SDK 24.0, `Shared/fgt_SDK.h`); each returns an `fgt_ERROR_CODE` as `unsigned char`:
/// - `unsigned char fgt_init(void)`: initializes every detected instrument (optional: any call
///   initializes; one SDK instance per process).
/// - `unsigned char fgt_close(void)`: closes the instruments and frees the session; "mandatory"
///   before the process exits, and it stops any pressure regulation.
/// - `unsigned char fgt_set_pressure(unsigned int pressureIndex, float pressure)`: the setpoint,
///   in the session unit (mbar by default).
/// - `unsigned char fgt_get_pressure(unsigned int pressureIndex, float *pressure)`.
/// - `unsigned char fgt_get_pressureRange(unsigned int pressureIndex, float *Pmin, float *Pmax)`.
/// - `unsigned char fgt_set_valvePosition(unsigned int valveIndex, int position,
///   fgt_SWITCH_DIRECTION direction, int wait)`: `fgt_SWITCH_DIRECTION` is an `int`
///   (0 shortest, 1 anticlockwise, 2 clockwise); `wait` 0 returns at once.
/// - `unsigned char fgt_get_valvePosition(unsigned int valveIndex, int *position)`.
/// Valve positions count from 0 in the SDK ("position indexing starts at 0", `fgt_get_valveRange`).
///
/// The library is never unloaded: a vendor library may run threads of its own, and unloading it
/// under them would crash. Call `close()` before exiting. Not thread-safe: one owner.
public final class FluigentSDK {
    /// The library's file name.
    public static let libraryName = "libfgt_SDK.so"
    /// Where the library is looked for when the board file gives no `sdk_path`: the dynamic
    /// loader's own search (LD_LIBRARY_PATH, ld.so.cache) for the bare name, then the usual
    /// install places. Fluigent ships the file in its SDK folders (`Shared/linux/<arch>/`), not
    /// in a system package, so it is copied to one of these by whoever sets the board up.
    public static let defaultSearchPaths = [
        libraryName, "/usr/local/lib/\(libraryName)", "/usr/lib/\(libraryName)", "/opt/fluigent/lib/\(libraryName)",
    ]

    private typealias Call = @convention(c) () -> UInt8
    private typealias SetPressure = @convention(c) (UInt32, Float) -> UInt8
    private typealias GetPressure = @convention(c) (UInt32, UnsafeMutablePointer<Float>) -> UInt8
    private typealias GetRange = @convention(c) (UInt32, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> UInt8
    private typealias SetValve = @convention(c) (UInt32, Int32, Int32, Int32) -> UInt8
    private typealias GetValve = @convention(c) (UInt32, UnsafeMutablePointer<Int32>) -> UInt8

    /// The path the library was loaded from.
    public let path: String
    private let handle: UnsafeMutableRawPointer
    private let fgtInit: Call
    private let fgtClose: Call
    private let fgtSetPressure: SetPressure
    private let fgtGetPressure: GetPressure
    private let fgtGetPressureRange: GetRange
    private let fgtSetValvePosition: SetValve
    private let fgtGetValvePosition: GetValve

    /// Loads the library from `path`, or when nil from the first of `defaultSearchPaths` that
    /// loads, and binds every function. Throws `.libraryNotFound` naming each path tried with
    /// the loader's message, or `.missingFunction`.
    public init(path: String? = nil) throws(FluigentError) {
        let candidates = path.map { [$0] } ?? FluigentSDK.defaultSearchPaths
        var tried: [String] = []
        var loaded: (String, UnsafeMutableRawPointer)?
        for candidate in candidates {
            if let handle = dlopen(candidate, RTLD_NOW | RTLD_LOCAL) {
                loaded = (candidate, handle)
                break
            }
            let reason = dlerror().map { String(cString: $0) } ?? "not loadable"
            tried.append("\(candidate) (\(reason))")
        }
        guard let (foundPath, handle) = loaded else {
            throw FluigentError(function: "dlopen", channel: nil, kind: .libraryNotFound(tried: tried))
        }
        func bind<Function>(_ name: String, as _: Function.Type) throws(FluigentError) -> Function {
            guard let symbol = dlsym(handle, name) else {
                throw FluigentError(function: name, channel: nil, kind: .missingFunction(library: foundPath))
            }
            return unsafeBitCast(symbol, to: Function.self)
        }
        self.path = foundPath
        self.handle = handle
        fgtInit = try bind("fgt_init", as: Call.self)
        fgtClose = try bind("fgt_close", as: Call.self)
        fgtSetPressure = try bind("fgt_set_pressure", as: SetPressure.self)
        fgtGetPressure = try bind("fgt_get_pressure", as: GetPressure.self)
        fgtGetPressureRange = try bind("fgt_get_pressureRange", as: GetRange.self)
        fgtSetValvePosition = try bind("fgt_set_valvePosition", as: SetValve.self)
        fgtGetValvePosition = try bind("fgt_get_valvePosition", as: GetValve.self)
    }

    /// `fgt_init()`.
    public func initialize() throws(FluigentError) {
        try check(fgtInit(), "fgt_init", channel: nil)
    }

    /// `fgt_close()`.
    public func close() throws(FluigentError) {
        try check(fgtClose(), "fgt_close", channel: nil)
    }

    /// `fgt_set_pressure(channel, mbar)`.
    public func setPressure(channel: UInt32, mbar: Float) throws(FluigentError) {
        try check(fgtSetPressure(channel, mbar), "fgt_set_pressure", channel: channel)
    }

    /// `fgt_get_pressure(channel, &mbar)`.
    public func pressure(channel: UInt32) throws(FluigentError) -> Float {
        var value: Float = 0
        try check(fgtGetPressure(channel, &value), "fgt_get_pressure", channel: channel)
        return value
    }

    /// `fgt_get_pressureRange(channel, &min, &max)`, mbar.
    public func pressureRange(channel: UInt32) throws(FluigentError) -> (minimum: Float, maximum: Float) {
        var minimum: Float = 0
        var maximum: Float = 0
        try check(fgtGetPressureRange(channel, &minimum, &maximum), "fgt_get_pressureRange", channel: channel)
        return (minimum, maximum)
    }

    /// `fgt_set_valvePosition(channel, position, direction, wait)`; `position` counts from 0.
    /// With `wait` false a `Processing` code (still turning) is not an error.
    public func setValvePosition(channel: UInt32, position: Int32, direction: SwitchDirection, wait: Bool)
        throws(FluigentError)
    {
        let code = fgtSetValvePosition(channel, position, direction.rawValue, wait ? 1 : 0)
        if !wait && code == FluigentErrorCode.processing.rawValue { return }
        try check(code, "fgt_set_valvePosition", channel: channel)
    }

    /// `fgt_get_valvePosition(channel, &position)`: the position (from 0), or nil while the
    /// valve is still turning (`Processing`).
    public func valvePosition(channel: UInt32) throws(FluigentError) -> Int32? {
        var position: Int32 = 0
        let code = fgtGetValvePosition(channel, &position)
        if code == FluigentErrorCode.processing.rawValue { return nil }
        try check(code, "fgt_get_valvePosition", channel: channel)
        return position
    }

    private func check(_ code: UInt8, _ function: String, channel: UInt32?) throws(FluigentError) {
        guard code != FluigentErrorCode.ok.rawValue else { return }
        let kind: FluigentError.Kind =
            FluigentErrorCode(rawValue: code).map { .code($0) } ?? .unknownCode(code)
        throw FluigentError(function: function, channel: channel, kind: kind)
    }
}

/// `fgt_SWITCH_DIRECTION` (`fgt_SDK.h`).
public enum SwitchDirection: Int32, Equatable, Sendable, CaseIterable {
    /// `fgt_SWITCH_DIRECTION_Shortest`.
    case shortest = 0
    /// `fgt_SWITCH_DIRECTION_Anticlockwise`: decreasing position numbers.
    case anticlockwise = 1
    /// `fgt_SWITCH_DIRECTION_Clockwise`: increasing position numbers.
    case clockwise = 2
}

/// `fgt_ERROR_CODE` (`fgt_SDK.h`, in the header's order, from 0).
public enum FluigentErrorCode: UInt8, Equatable, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case ok = 0
    case usbError
    case wrongCommand
    case noModuleAtIndex
    case wrongModule
    case moduleIsSleep
    case masterError
    case failedInitAllInstruments
    case wrongParameter
    case overpressure
    case underpressure
    case noInstrumentFound
    case noModulesFound
    case noPressureControllerFound
    case calibrating
    case dllDependencyError
    case processing

    /// The enumerator's name in the header (without the `fgt_ERROR_CODE_` prefix).
    public var headerName: String {
        switch self {
        case .ok: "OK"
        case .usbError: "USB_error"
        case .wrongCommand: "Wrong_command"
        case .noModuleAtIndex: "No_module_at_index"
        case .wrongModule: "Wrong_module"
        case .moduleIsSleep: "Module_is_sleep"
        case .masterError: "Master_error"
        case .failedInitAllInstruments: "Failed_init_all_instr"
        case .wrongParameter: "Wrong_parameter"
        case .overpressure: "Overpressure"
        case .underpressure: "Underpressure"
        case .noInstrumentFound: "No_instr_found"
        case .noModulesFound: "No_modules_found"
        case .noPressureControllerFound: "No_pressure_controller_found"
        case .calibrating: "Calibrating"
        case .dllDependencyError: "Dll_dependency_error"
        case .processing: "Processing"
        }
    }

    /// The header's comment on the code.
    public var meaning: String {
        switch self {
        case .ok: "no error"
        case .usbError: "device disconnected (USB communication error)"
        case .wrongCommand: "invalid command"
        case .noModuleAtIndex: "no module initialized at the selected index"
        case .wrongModule: "wrong module selected, feature unavailable"
        case .moduleIsSleep: "module in sleep mode, orders ignored"
        case .masterError: "controller error"
        case .failedInitAllInstruments: "some instruments failed to initialize"
        case .wrongParameter: "function parameter incorrect or out of bounds"
        case .overpressure: "pressure module in overpressure protection"
        case .underpressure: "pressure module in underpressure protection"
        case .noInstrumentFound: "no Fluigent instrument found"
        case .noModulesFound: "no Fluigent pressure or sensor module found"
        case .noPressureControllerFound: "no Fluigent pressure controller found"
        case .calibrating: "pressure or sensor module calibrating, the value read may be incorrect"
        case .dllDependencyError: "unspecified internal error"
        case .processing: "M-Switch still turning"
        }
    }

    public var description: String { "\(rawValue) \(headerName)" }
}

/// A failed Fluigent SDK call, or an SDK that could not be loaded.
public struct FluigentError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// The function returned this `fgt_ERROR_CODE`.
        case code(FluigentErrorCode)
        /// The function returned a number the header does not define (a newer SDK?).
        case unknownCode(UInt8)
        /// No candidate path loaded; each entry is "path (loader message)".
        case libraryNotFound(tried: [String])
        /// The library loaded but lacks the function.
        case missingFunction(library: String)
    }

    /// The C function (`fgt_set_pressure`), or `dlopen`.
    public var function: String
    /// The pressure or valve channel index, when the call takes one.
    public var channel: UInt32?
    public var kind: Kind

    public init(function: String, channel: UInt32?, kind: Kind) {
        self.function = function
        self.channel = channel
        self.kind = kind
    }

    public var description: String {
        let call = channel.map { "\(function)(channel \($0))" } ?? function
        switch kind {
        case .code(let code):
            return "Fluigent SDK: \(call) returned \(code.rawValue) \(code.headerName): \(code.meaning)"
        case .unknownCode(let value):
            return "Fluigent SDK: \(call) returned \(value), a code fgt_SDK.h does not define"
        case .libraryNotFound(let tried):
            return "Fluigent SDK: \(FluigentSDK.libraryName) could not be loaded; tried "
                + tried.joined(separator: "; ")
                + ". Install it from Fluigent's SDK (Shared/linux/<arch>/) or set sdk_path in [pressure]"
        case .missingFunction(let library):
            return "Fluigent SDK: \(library) has no function \(function) (not a Fluigent SDK, or too old)"
        }
    }

    /// The same failure as the protocols' error, for `device`.
    public func fluidics(device: String) -> FluidicsError {
        let reason: FluidicsError.Reason
        switch kind {
        case .code(let code):
            reason = .instrument(code: Int(code.rawValue), name: code.headerName, meaning: code.meaning)
        case .unknownCode(let value):
            reason = .instrument(code: Int(value), name: "unknown", meaning: "a code fgt_SDK.h does not define")
        case .libraryNotFound, .missingFunction:
            reason = .libraryUnavailable(description)
        }
        return FluidicsError(device: device, operation: function, reason: reason)
    }
}

/// A Fluigent Flow EZ pressure channel as a `PressureController`.
///
/// `range()` asks `fgt_get_pressureRange` once and keeps it; `setPressure` refuses setpoints
/// outside it before calling `fgt_set_pressure` (the instrument's own answer would be
/// `Wrong_parameter`); `vent()` sets 0 mbar (a Flow EZ regulating to 0 mbar gauge holds its outlet
/// at atmosphere).
public final class FluigentPressureController: PressureController {
    public let sdk: FluigentSDK
    public let channel: UInt32
    public let name: String
    private var cachedRange: ClosedRange<Double>?

    public init(sdk: FluigentSDK, channel: UInt32) {
        self.sdk = sdk
        self.channel = channel
        name = "fluigent:\(channel)"
    }

    public func range() throws(FluidicsError) -> ClosedRange<Double> {
        if let cachedRange { return cachedRange }
        do {
            let (minimum, maximum) = try sdk.pressureRange(channel: channel)
            let range = Double(min(minimum, maximum))...Double(max(minimum, maximum))
            cachedRange = range
            return range
        } catch {
            throw error.fluidics(device: name)
        }
    }

    public func setPressure(mbar: Double) throws(FluidicsError) {
        let allowed = try range()
        guard allowed.contains(mbar) else {
            throw FluidicsError(
                device: name, operation: "fgt_set_pressure",
                reason: .setpointOutOfRange(requestedMbar: mbar, allowed: allowed))
        }
        do { try sdk.setPressure(channel: channel, mbar: Float(mbar)) } catch { throw error.fluidics(device: name) }
    }

    public func readPressure() throws(FluidicsError) -> Double {
        do { return Double(try sdk.pressure(channel: channel)) } catch { throw error.fluidics(device: name) }
    }

    public func vent() throws(FluidicsError) {
        do { try sdk.setPressure(channel: channel, mbar: 0) } catch { throw error.fluidics(device: name) }
    }
}

/// A Fluigent M-SWITCH valve channel as a `SelectorValve`: positions 1...N here are the SDK's
/// 0...N−1; moves go the shortest way and do not wait (`wait` = 0), and `Processing` reads as
/// `.turning`.
public final class FluigentSelectorValve: SelectorValve {
    public let sdk: FluigentSDK
    public let channel: UInt32
    public let positionCount: Int
    public let name: String

    public init(sdk: FluigentSDK, channel: UInt32, positionCount: Int) {
        precondition(positionCount >= 2, "a selector has positions to choose from")
        self.sdk = sdk
        self.channel = channel
        self.positionCount = positionCount
        name = "fluigent-valve:\(channel)"
    }

    public func select(position: Int) throws(FluidicsError) {
        guard (1...positionCount).contains(position) else {
            throw FluidicsError(
                device: name, operation: "fgt_set_valvePosition",
                reason: .positionOutOfRange(requested: position, count: positionCount))
        }
        do {
            try sdk.setValvePosition(channel: channel, position: Int32(position - 1), direction: .shortest, wait: false)
        } catch {
            throw error.fluidics(device: name)
        }
    }

    public func readState() throws(FluidicsError) -> SelectorValveState {
        do {
            guard let position = try sdk.valvePosition(channel: channel) else { return .turning }
            return .at(Int(position) + 1)
        } catch {
            throw error.fluidics(device: name)
        }
    }
}
