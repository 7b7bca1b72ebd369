import Foundation
import Glibc
import Testing
import Transports
@testable import LinuxIO

/// A stand-in for Fluigent's closed `libfgt_SDK.so`, compiled from C at test time: the seven
/// bound functions with `fgt_SDK.h`'s signatures, recording every call with its arguments and
/// returning scripted error codes (0 once the script runs out), plus `fake_*` controls.
private let fakeSource = #"""
    #include <stdarg.h>
    #include <stdio.h>
    #include <string.h>
    static char calls[8192];
    static unsigned char script[64];
    static int scriptLength, scriptNext;
    static float pressureValue, rangeMin, rangeMax = 1000;
    static int valveValue;
    static void record(const char *format, ...) {
        size_t used = strlen(calls);
        va_list arguments;
        va_start(arguments, format);
        vsnprintf(calls + used, sizeof calls - used, format, arguments);
        va_end(arguments);
        strncat(calls, ";", sizeof calls - strlen(calls) - 1);
    }
    static unsigned char next(void) { return scriptNext < scriptLength ? script[scriptNext++] : 0; }
    void fake_reset(void) { calls[0] = 0; scriptLength = scriptNext = 0; }
    void fake_script(const unsigned char *codes, int count) {
        memcpy(script, codes, (size_t)count); scriptLength = count; scriptNext = 0;
    }
    void fake_values(float pressure, float minimum, float maximum, int valve) {
        pressureValue = pressure; rangeMin = minimum; rangeMax = maximum; valveValue = valve;
    }
    const char *fake_calls(void) { return calls; }
    unsigned char fgt_init(void) { record("fgt_init"); return next(); }
    unsigned char fgt_close(void) { record("fgt_close"); return next(); }
    unsigned char fgt_set_pressure(unsigned int index, float pressure) {
        record("fgt_set_pressure(%u,%.1f)", index, pressure); return next();
    }
    unsigned char fgt_get_pressure(unsigned int index, float *pressure) {
        record("fgt_get_pressure(%u)", index); *pressure = pressureValue; return next();
    }
    unsigned char fgt_get_pressureRange(unsigned int index, float *minimum, float *maximum) {
        record("fgt_get_pressureRange(%u)", index); *minimum = rangeMin; *maximum = rangeMax; return next();
    }
    unsigned char fgt_set_valvePosition(unsigned int index, int position, int direction, int wait) {
        record("fgt_set_valvePosition(%u,%d,%d,%d)", index, position, direction, wait); return next();
    }
    #ifndef WITHOUT_GET_VALVE
    unsigned char fgt_get_valvePosition(unsigned int index, int *position) {
        record("fgt_get_valvePosition(%u)", index); *position = valveValue; return next();
    }
    #endif
    """#

/// The fake library, compiled once per test process into a temporary folder.
private enum FakeSDK {
    /// The full fake, and one without `fgt_get_valvePosition`; nil if `cc` failed.
    static let paths: (full: String, incomplete: String)? = {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("aliquot-fake-fgt-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let source = folder.appendingPathComponent("fake_fgt.c")
            try fakeSource.write(to: source, atomically: true, encoding: .utf8)
            let full = folder.appendingPathComponent("full/libfgt_SDK.so").path
            let incomplete = folder.appendingPathComponent("incomplete/libfgt_SDK.so").path
            for (output, defines) in [(full, [String]()), (incomplete, ["-DWITHOUT_GET_VALVE"])] {
                try FileManager.default.createDirectory(
                    atPath: (output as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                let compiler = Process()
                compiler.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
                compiler.arguments = ["-shared", "-fPIC", "-O1"] + defines + ["-o", output, source.path]
                try compiler.run()
                compiler.waitUntilExit()
                guard compiler.terminationStatus == 0 else { return nil }
            }
            return (full, incomplete)
        } catch {
            return nil
        }
    }()

    /// The test's own handle on the library the SDK loaded (same path: same copy in memory).
    static func control(_ path: String) throws -> Control {
        let handle = try #require(dlopen(path, RTLD_NOW | RTLD_LOCAL))
        func symbol<T>(_ name: String, _: T.Type) throws -> T {
            unsafeBitCast(try #require(dlsym(handle, name)), to: T.self)
        }
        return Control(
            reset: try symbol("fake_reset", (@convention(c) () -> Void).self),
            setScript: try symbol("fake_script", (@convention(c) (UnsafePointer<UInt8>, Int32) -> Void).self),
            values: try symbol("fake_values", (@convention(c) (Float, Float, Float, Int32) -> Void).self),
            calls: try symbol("fake_calls", (@convention(c) () -> UnsafePointer<CChar>).self))
    }

    struct Control {
        let reset: @convention(c) () -> Void
        let setScript: @convention(c) (UnsafePointer<UInt8>, Int32) -> Void
        let values: @convention(c) (Float, Float, Float, Int32) -> Void
        let calls: @convention(c) () -> UnsafePointer<CChar>

        func script(_ codes: [UInt8]) { codes.withUnsafeBufferPointer { setScript($0.baseAddress!, Int32($0.count)) } }
        var log: [String] { String(cString: calls()).split(separator: ";").map(String.init) }
    }

    /// A fresh SDK on the full fake with its recorder cleared.
    static func fresh() throws -> (FluigentSDK, Control) {
        let paths = try #require(FakeSDK.paths, "cc could not build the fake libfgt_SDK.so")
        let control = try control(paths.full)
        control.reset()
        control.values(0, 0, 1000, 0)
        return (try FluigentSDK(path: paths.full), control)
    }
}

/// Serialized: the fake library's recorder is one global state.
@Suite(.serialized) struct FluigentSDKTests {
    @Test func absentLibraryNamesEveryPathTried() {
        #expect {
            _ = try FluigentSDK(path: "/nonexistent/fluigent/libfgt_SDK.so")
        } throws: { error in
            guard let error = error as? FluigentError, case .libraryNotFound(let tried) = error.kind else { return false }
            return tried.count == 1 && tried[0].hasPrefix("/nonexistent/fluigent/libfgt_SDK.so (")
                && error.description.contains("/nonexistent/fluigent/libfgt_SDK.so")
                && error.description.contains("sdk_path")
        }
        // The default search: this machine has no Fluigent SDK installed, so every default is tried.
        #expect {
            _ = try FluigentSDK()
        } throws: { error in
            guard let error = error as? FluigentError, case .libraryNotFound(let tried) = error.kind else { return false }
            return tried.count == FluigentSDK.defaultSearchPaths.count
                && zip(tried, FluigentSDK.defaultSearchPaths).allSatisfy { $0.hasPrefix($1 + " (") }
        }
    }

    @Test func missingFunctionIsNamed() throws {
        let paths = try #require(FakeSDK.paths)
        #expect(throws: FluigentError(
            function: "fgt_get_valvePosition", channel: nil, kind: .missingFunction(library: paths.incomplete))) {
            _ = try FluigentSDK(path: paths.incomplete)
        }
    }

    @Test func callsInOrderWithTheirArguments() throws {
        let (sdk, control) = try FakeSDK.fresh()
        control.values(598.5, 0, 1000, 6)
        let pressure = FluigentPressureController(sdk: sdk, channel: 1)
        let selector = FluigentSelectorValve(sdk: sdk, channel: 0, positionCount: 10)
        try sdk.initialize()
        #expect(try pressure.range() == 0...1000)
        try pressure.setPressure(mbar: 600)
        #expect(try pressure.readPressure() == 598.5)
        try pressure.setPressure(mbar: 250)  // the range is asked once
        try selector.select(position: 3)
        #expect(try selector.readState() == .at(7))  // SDK position 6 is position 7 here
        try pressure.vent()
        try sdk.close()
        #expect(control.log == [
            "fgt_init",
            "fgt_get_pressureRange(1)",
            "fgt_set_pressure(1,600.0)",
            "fgt_get_pressure(1)",
            "fgt_set_pressure(1,250.0)",
            "fgt_set_valvePosition(0,2,0,0)",  // position 3 -> index 2, shortest, no wait
            "fgt_get_valvePosition(0)",
            "fgt_set_pressure(1,0.0)",
            "fgt_close",
        ])
    }

    @Test func refusalsHappenBeforeAnyCall() throws {
        let (sdk, control) = try FakeSDK.fresh()
        let pressure = FluigentPressureController(sdk: sdk, channel: 0)
        let selector = FluigentSelectorValve(sdk: sdk, channel: 0, positionCount: 10)
        #expect(throws: FluidicsError(
            device: "fluigent:0", operation: "fgt_set_pressure",
            reason: .setpointOutOfRange(requestedMbar: 1200, allowed: 0...1000))) {
            try pressure.setPressure(mbar: 1200)
        }
        for position in [0, 11] {
            #expect(throws: FluidicsError(
                device: "fluigent-valve:0", operation: "fgt_set_valvePosition",
                reason: .positionOutOfRange(requested: position, count: 10))) {
                try selector.select(position: position)
            }
        }
        #expect(control.log == ["fgt_get_pressureRange(0)"])
    }

    /// Every code of `fgt_ERROR_CODE` but OK, returned by `fgt_set_pressure`, is that named error,
    /// and maps to the protocol's error with the header's name.
    @Test(arguments: FluigentErrorCode.allCases.filter { $0 != .ok })
    func everyErrorCodeIsNamed(code: FluigentErrorCode) throws {
        let (sdk, control) = try FakeSDK.fresh()
        control.script([code.rawValue])
        #expect(throws: FluigentError(function: "fgt_set_pressure", channel: 2, kind: .code(code))) {
            try sdk.setPressure(channel: 2, mbar: 100)
        }
        control.script([0, code.rawValue])  // the range succeeds, the set fails
        let controller = FluigentPressureController(sdk: sdk, channel: 2)
        #expect(throws: FluidicsError(
            device: "fluigent:2", operation: "fgt_set_pressure",
            reason: .instrument(code: Int(code.rawValue), name: code.headerName, meaning: code.meaning))) {
            try controller.setPressure(mbar: 100)
        }
    }

    /// The header's names, in its order (fgt_SDK.h 24.0): OK = 0 ... Processing = 16.
    @Test func codesFollowTheHeader() {
        let names = FluigentErrorCode.allCases.map(\.headerName)
        #expect(names == [
            "OK", "USB_error", "Wrong_command", "No_module_at_index", "Wrong_module", "Module_is_sleep",
            "Master_error", "Failed_init_all_instr", "Wrong_parameter", "Overpressure", "Underpressure",
            "No_instr_found", "No_modules_found", "No_pressure_controller_found", "Calibrating",
            "Dll_dependency_error", "Processing",
        ])
        #expect(FluigentErrorCode.allCases.map(\.rawValue) == Array(0...16))
    }

    @Test(arguments: [UInt8(17), 200, 255])
    func unknownCodesAreKeptAsNumbers(value: UInt8) throws {
        let (sdk, control) = try FakeSDK.fresh()
        control.script([value])
        #expect(throws: FluigentError(function: "fgt_init", channel: nil, kind: .unknownCode(value))) {
            try sdk.initialize()
        }
    }

    @Test func processingMeansStillTurning() throws {
        let (sdk, control) = try FakeSDK.fresh()
        let selector = FluigentSelectorValve(sdk: sdk, channel: 1, positionCount: 10)
        let processing = FluigentErrorCode.processing.rawValue
        control.script([processing, processing, 0])
        try selector.select(position: 5)  // no wait: Processing is the move under way
        #expect(try selector.readState() == .turning)
        #expect(try selector.readState() == .at(1))
        // Waiting, Processing is an error.
        control.script([processing])
        #expect(throws: FluigentError(function: "fgt_set_valvePosition", channel: 1, kind: .code(.processing))) {
            try sdk.setValvePosition(channel: 1, position: 4, direction: .clockwise, wait: true)
        }
        #expect(control.log.last == "fgt_set_valvePosition(1,4,2,1)")
    }

    @Test func readFailuresCarryTheChannel() throws {
        let (sdk, control) = try FakeSDK.fresh()
        control.script([FluigentErrorCode.usbError.rawValue, FluigentErrorCode.overpressure.rawValue])
        let pressure = FluigentPressureController(sdk: sdk, channel: 3)
        #expect {
            try pressure.readPressure()
        } throws: { error in
            guard let error = error as? FluidicsError else { return false }
            return error.device == "fluigent:3" && error.operation == "fgt_get_pressure"
                && error.reason == .instrument(code: 1, name: "USB_error", meaning: FluigentErrorCode.usbError.meaning)
        }
        #expect(throws: FluigentError(function: "fgt_get_pressureRange", channel: 3, kind: .code(.overpressure))) {
            _ = try sdk.pressureRange(channel: 3)
        }
    }
}
