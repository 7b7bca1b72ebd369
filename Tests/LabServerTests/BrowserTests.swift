import Foundation
import Hummingbird
import HummingbirdTesting
import Journal
import Logging
import Testing

@testable import LabServer

/// Headless Chromium (Debian's `chromium`) loads the dashboard of a server filled by a twin
/// campaign (its journal pushed through the real uplink); the DOM must hold the expected
/// elements; screenshots are kept as artifacts in `$ALIQUOT_ARTIFACTS` (default
/// `.build/artifacts/lab-dashboard`).
@Suite struct BrowserTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static var artifacts: URL {
        if let directory = ProcessInfo.processInfo.environment["ALIQUOT_ARTIFACTS"] {
            return URL(fileURLWithPath: directory).appendingPathComponent("lab-dashboard")
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/artifacts/lab-dashboard")
    }

    /// Runs chromium headless; returns its standard output. Waits without blocking a cooperative thread.
    func run(_ chromium: String, _ arguments: [String], profile: URL) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
            "--user-data-dir=\(profile.path)",
        ] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let collected = Task.detached { output.fileHandleForReading.readDataToEndOfFile() }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in continuation.resume() }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        return String(decoding: await collected.value, as: UTF8.self)
    }

    @Test func dashboardRendersInChromium() async throws {
        guard let chromium = Self.chromium else {
            print("SKIPPED (browser): chromium is not installed (apt-get install chromium)")
            return
        }
        let store = try #require(try await StoreKind.sqlite.make())
        let token = DeviceToken.generate()
        try await store.addDevice(id: "reactor-01", tokenHash: DeviceToken.hash(token), createdNanoseconds: 0)
        // The server is filled by a twin campaign: the board side's journal, pushed by the uplink.
        let campaign = try BoardSideTwinCampaign(name: "browser-twin")
        let result = try await onOwnThread { try campaign.run() }
        try #require(result.experiments.count == 2)
        var logger = Logger(label: "browser")
        logger.logLevel = .critical
        let app = LabServer.application(store: store, configuration: LabServerConfiguration(port: 0), logger: logger)
        try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)")
        try await app.test(.live) { client in
            let base = "http://127.0.0.1:\(try #require(client.port))"
            let uplink = try Uplink(
                configuration: UplinkConfiguration(url: base + "/api/v1/batches", deviceID: "reactor-01", token: token, batchRecords: 100),
                journal: campaign.journal)
            let pushed = try await onOwnThread { try uplink.pushOnce() }
            #expect(pushed.acknowledgedThrough == campaign.journal.durableSequence)
            let pages = [
                ("overview", "/", ["id=\"devices\"", "id=\"campaigns\"", "id=\"experiments\"", "<td>browser-twin</td><td>2 / 2</td>"]),
                ("experiment", "/experiment?device=reactor-01&campaign=browser-twin&experiment=2",
                 ["id=\"uv-spectra\"", "id=\"pl-spectra\"", "id=\"peak-vs-time\"", "id=\"fwhm-vs-time\"", "id=\"safety-events\""]),
                ("logs", "/logs?level=warning", ["id=\"logs\"", "<option value=\"warning\" selected=\"\">"]),
            ]
            for (name, path, elements) in pages {
                let dom = try await run(chromium, ["--dump-dom", base + path], profile: profile)
                for element in elements { #expect(dom.contains(element), "\(name) page lacks \(element)") }
                let screenshot = Self.artifacts.appendingPathComponent("\(name).png")
                try? FileManager.default.removeItem(at: screenshot)
                _ = try await run(chromium, ["--screenshot=\(screenshot.path)", "--window-size=1280,1400", base + path], profile: profile)
                let size = (try? FileManager.default.attributesOfItem(atPath: screenshot.path)[.size] as? Int) ?? 0
                #expect(size > 10_000, "\(name).png is \(size) bytes")
            }
            // Each experiment page has the campaign's aliquot rows after rendering.
            for experiment in result.experiments {
                let dom = try await run(
                    chromium, ["--dump-dom", base + "/experiment?device=reactor-01&campaign=browser-twin&experiment=\(experiment.number)"],
                    profile: profile)
                #expect(dom.components(separatedBy: "<tr class=\"aliquot\">").count - 1 == experiment.aliquots)
                #expect(experiment.aliquots == campaign.sampleTimes.count)
            }
        }
        await store.shutdown()
    }
}
