import Foundation
import Journal
import Testing

@testable import LabServer

/// A twin-like campaign as a board journals it: `experiments` experiments of `aliquots` aliquots,
/// each with a sample (fitted peaks and prediction), a UV and a PL spectrum; events and logs.
func campaignRecords(campaign: String = "grid-1", experiments: Int = 3, aliquots: Int = 20, points: Int = 64) -> [StoredRecord] {
    var records: [StoredRecord] = []
    func add(_ kind: RecordKind, _ experiment: Int?, _ time: Int64, _ payload: String) {
        records.append(record(Int64(records.count + 1), kind, experiment: experiment, payload: payload, time: time))
    }
    let t0: Int64 = 1_763_750_000_000_000_000
    add(.event, nil, t0, "{\"type\":\"campaign\",\"campaign\":\(JSONText.quoted(campaign)),\"planned_experiments\":\(experiments + 2),\"message\":\"start\"}")
    add(.event, nil, t0, "{\"type\":\"state\",\"message\":\"running\"}")
    for experiment in 1...experiments {
        let start = t0 + Int64(experiment) * 1_000_000_000_000
        add(.event, experiment, start, "{\"type\":\"phase\",\"message\":\"inject\"}")
        for aliquot in 1...aliquots {
            let time = Double(aliquot) * 10
            let peak = 470 + Double(experiment) * 5 + 40 * time / (time + 60)
            let at = start + Int64(time * 1e9)
            add(.sample, experiment, at, """
                {"campaign":\(JSONText.quoted(campaign)),"aliquot":\(aliquot),"t_s":\(time),"T_external":21.5,"Cd_mM":10,"Se_mM":10,"OA_Cd_ratio":40,"T_reactor":240,\
                "uv":{"peak_nm":\(peak),"fwhm_nm":30,"height":0.1,"peak_ev":\(1239.84 / peak),"fwhm_ev":0.2},\
                "pl":{"peak_nm":\(peak + 20),"fwhm_nm":25,"height":700,"peak_ev":\(1239.84 / (peak + 20)),"fwhm_ev":0.15},"prediction":{"peak_nm":\(peak + 1),"fwhm_nm":29}}
                """)
            for channel in ["uv", "pl"] {
                let wavelengths = (0..<points).map { 400 + Double($0) * 4 }
                let values = wavelengths.map { 1 / (1 + pow(($0 - peak) / 15, 2)) }
                add(.spectrum, experiment, at, """
                    {"campaign":\(JSONText.quoted(campaign)),"aliquot":\(aliquot),"t_s":\(time),"channel":"\(channel)","processed":true,\
                    "wavelength_nm":[\(wavelengths.map { "\($0)" }.joined(separator: ","))],"values":[\(values.map { "\($0)" }.joined(separator: ","))]}
                    """)
            }
            if aliquot == 7 {
                add(.event, experiment, at, "{\"type\":\"safety\",\"severity\":\"critical\",\"message\":\"overpressure <4 bar> vented\"}")
                add(.event, experiment, at, "{\"type\":\"alarm\",\"alarm\":\"pressure\",\"active\":\(experiment == experiments)}")
            }
            add(.log, experiment, at, "{\"level\":\"\(aliquot == 7 ? "warning" : "info")\",\"message\":\"aliquot \(aliquot) of experiment \(experiment)\"}")
        }
    }
    return records
}

/// Stores records in batches of 200, as the uplink would.
func push(_ records: [StoredRecord], device: String, to store: any LabStore) async throws {
    for start in stride(from: 0, to: records.count, by: 200) {
        let slice = Array(records[start..<min(start + 200, records.count)])
        _ = try await store.store(incoming(device: device, slice), receivedNanoseconds: 1_763_760_000_000_000_000)
    }
}

@Suite struct DashboardTests {
    func filledStore() async throws -> any LabStore {
        let store = try #require(try await StoreKind.sqlite.make())
        try await store.addDevice(id: "reactor-01", tokenHash: "h", createdNanoseconds: 0)
        try await push(campaignRecords(), device: "reactor-01", to: store)
        return store
    }

    @Test func overviewShowsDevicesCampaignsAndExperiments() async throws {
        let store = try await filledStore()
        let page = try await Dashboard(store: store).overviewPage(now: 0)
        #expect(page.contains("<td>reactor-01</td><td>2025-11-21 21:20:00</td><td>running</td><td>grid-1</td><td>3 / 5</td><td><span class=\"alarm\">pressure</span></td>"))
        #expect(page.components(separatedBy: "<tr class=\"experiment\">").count - 1 == 3)
        #expect(page.contains("/experiment?device=reactor-01&amp;campaign=grid-1&amp;experiment=2"))
    }

    @Test func experimentPageHasPlotsAliquotsAndSafetyEvents() async throws {
        let store = try await filledStore()
        let page = try await Dashboard(store: store).experimentPage(device: "reactor-01", campaign: "grid-1", experiment: 2)
        for id in ["uv-spectra", "pl-spectra", "peak-vs-time", "fwhm-vs-time", "aliquots", "safety-events"] {
            #expect(page.contains("id=\"\(id)\""), "missing \(id)")
        }
        #expect(page.components(separatedBy: "<tr class=\"aliquot\">").count - 1 == 20)
        // 20 spectra per channel: 40 polylines, plus 2 prediction lines.
        #expect(page.components(separatedBy: "<polyline").count - 1 == 42)
        #expect(page.contains("overpressure &lt;4 bar&gt; vented"))
        #expect(!page.contains("<4 bar>"))
    }

    @Test func escapesHostileNames() async throws {
        let store = try #require(try await StoreKind.sqlite.make())
        let evil = "<script>alert(1)</script>"
        try await push(campaignRecords(campaign: evil, experiments: 1, aliquots: 2, points: 4), device: "r1", to: store)
        let dashboard = Dashboard(store: store)
        let overview = try await dashboard.overviewPage(now: 0)
        let experiment = try await dashboard.experimentPage(device: "r1", campaign: evil, experiment: 1)
        for page in [overview, experiment] {
            #expect(!page.contains("<script>"))
        }
        #expect(overview.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(overview.contains("campaign=%3Cscript%3Ealert%281%29%3C%2Fscript%3E"))
    }

    @Test func logViewFiltersBySearchAndLevel() async throws {
        let store = try await filledStore()
        let dashboard = Dashboard(store: store)
        let warnings = try await dashboard.logPage(device: nil, search: nil, level: .warning)
        #expect(warnings.components(separatedBy: "<tr class=\"log\">").count - 1 == 3)
        let search = try await dashboard.logPage(device: "reactor-01", search: "aliquot 12 of", level: nil)
        #expect(search.components(separatedBy: "<tr class=\"log\">").count - 1 == 3)
        #expect(search.contains("value=\"aliquot 12 of\""))
    }

    /// The headers are the published files' own first lines.
    @Test(arguments: [("uv", "uv_train_val.csv"), ("pl", "pl_train_val.csv")])
    func csvUsesThePublishedSchema(channel: String, file: String) async throws {
        let published = try String(contentsOfFile: "/work/shared/data/cdse/\(file)", encoding: .utf8)
        let publishedHeader = published.split(separator: "\n", maxSplits: 1)[0].trimmingCharacters(in: .whitespacesAndNewlines)
        let store = try await filledStore()
        let csv = try await Dashboard(store: store).csv(device: "reactor-01", campaign: "grid-1", channel: channel)
        let lines = csv.split(separator: "\n")
        #expect(String(lines[0]) == publishedHeader)
        #expect(lines.count == 1 + 3 * 20)
        let columns = lines[1].split(separator: ",", omittingEmptySubsequences: false)
        #expect(columns.count == publishedHeader.split(separator: ",").count)
        #expect(columns[0] == "1" && columns[6] == "10.0" && columns[5] == "240.0")
        let peak = 470 + 5 + 40 * 10.0 / 70 + (channel == "pl" ? 20 : 0)
        #expect(abs(Double(columns[7])! - peak) < 1e-9)
    }
}
