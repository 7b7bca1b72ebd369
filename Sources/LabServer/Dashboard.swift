import Hummingbird
import Journal

/// The dashboard: server-rendered HTML, plots as inline SVG, no JavaScript. Every text that
/// comes from a record or a request goes through `HTML.escape`.
///
/// Pages: `/` (devices, campaigns, experiments), `/experiment?device=&campaign=&experiment=`,
/// `/logs?device=&q=&level=`, and `/download?device=&campaign=&channel=uv|pl` (CSV in the
/// published data set's schema, /work/shared/data/cdse/README.md).
public struct Dashboard: Sendable {
    public let store: any LabStore

    public init(store: any LabStore) { self.store = store }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ -> Response in try await html(self.overviewPage(now: realtimeNanoseconds())) }
        router.get("/experiment") { request, _ -> Response in
            let query = request.uri.queryParameters
            guard let device = query.get("device"), let campaign = query.get("campaign"),
                let experiment = query.get("experiment").flatMap({ Int($0) })
            else { throw HTTPError(.badRequest, message: "device, campaign and experiment are required") }
            return try await html(self.experimentPage(device: device, campaign: campaign, experiment: experiment))
        }
        router.get("/logs") { request, _ -> Response in
            let query = request.uri.queryParameters
            return try await html(
                self.logPage(
                    device: query.get("device").flatMap { $0.isEmpty ? nil : $0 }, search: query.get("q"),
                    level: query.get("level").flatMap { LogLevel(name: $0) }))
        }
        router.get("/download") { request, _ -> Response in
            let query = request.uri.queryParameters
            guard let device = query.get("device"), let campaign = query.get("campaign"),
                let channel = query.get("channel"), channel == "uv" || channel == "pl"
            else { throw HTTPError(.badRequest, message: "device, campaign and channel=uv|pl are required") }
            let csv = try await self.csv(device: device, campaign: campaign, channel: channel)
            let name = "\(channel)_\(campaign.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }).csv"
            return Response(
                status: .ok,
                headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(name)\""],
                body: .init(byteBuffer: ByteBuffer(string: csv)))
        }
    }

    /// Processed absorbance is plotted over this window, as the board's results plots
    /// (Campaign's `ResultsFolder.Options.absorbancePlotNanometres`): outside it the lamp is too
    /// weak and the absorbance is noise.
    public static let absorbanceWindowNanometres: ClosedRange<Double> = 350...700

    static let style = """
        body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin-bottom:1.5em}
        td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#eee}.alarm{color:#b00;font-weight:bold}
        .plot{margin:4px;border:1px solid #ddd}.tick{font-size:10px}.legend{font-size:11px}.title{font-size:13px;font-weight:bold}
        nav a{margin-right:1em}
        """

    func page(_ title: String, _ body: String) -> String {
        """
        <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>\(HTML.escape(title)) · aliquot-lab</title>
        <style>\(Dashboard.style)</style></head><body><nav><a href="/">Devices</a><a href="/logs">Logs</a></nav>
        <h1>\(HTML.escape(title))</h1>\(body)</body></html>
        """
    }

    /// A device's status from its events (state, active alarms, campaign plan).
    public func status(of device: String) async throws -> DeviceStatus {
        var status = DeviceStatus()
        for record in try await store.records(RecordQuery(deviceID: device, kind: .event, limit: 100_000)) {
            if let event = EventPayload(json: record.payload) { status.apply(event) }
        }
        return status
    }

    public func overviewPage(now: Int64) async throws -> String {
        let devices = try await store.devices()
        let campaigns = try await store.campaigns()
        var body = "<h2>Devices</h2><table id=\"devices\"><tr><th>device</th><th>last seen (UTC)</th><th>state</th><th>campaign</th><th>progress</th><th>active alarms</th><th>records</th></tr>"
        for device in devices {
            let status = try await status(of: device.id)
            let campaign = status.campaign ?? campaigns.last { $0.deviceID == device.id }?.campaign
            let done = campaigns.first { $0.deviceID == device.id && $0.campaign == campaign }?.experiments ?? 0
            let progress = status.plannedExperiments.map { "\(done) / \($0)" } ?? (campaign == nil ? "–" : "\(done)")
            let alarms = status.activeAlarms.isEmpty ? "none" : "<span class=\"alarm\">\(HTML.escape(status.activeAlarms.joined(separator: ", ")))</span>"
            body += "<tr class=\"device\"><td>\(HTML.escape(device.id))</td><td>\(HTML.time(device.lastSeenNanoseconds))</td>"
            body += "<td>\(HTML.escape(status.state ?? "–"))</td><td>\(HTML.escape(campaign ?? "–"))</td><td>\(progress)</td>"
            body += "<td>\(alarms)</td><td>\(device.recordCount)</td></tr>"
        }
        body += "</table><h2>Campaigns</h2><table id=\"campaigns\"><tr><th>device</th><th>campaign</th><th>experiments</th><th>samples</th><th>last sample (UTC)</th><th>download</th></tr>"
        for campaign in campaigns {
            let query = "device=\(HTML.queryComponent(campaign.deviceID))&amp;campaign=\(HTML.queryComponent(campaign.campaign))"
            body += "<tr><td>\(HTML.escape(campaign.deviceID))</td><td>\(HTML.escape(campaign.campaign))</td><td>\(campaign.experiments)</td>"
            body += "<td>\(campaign.samples)</td><td>\(HTML.time(campaign.lastNanoseconds))</td>"
            body += "<td><a href=\"/download?\(query)&amp;channel=uv\">uv.csv</a> <a href=\"/download?\(query)&amp;channel=pl\">pl.csv</a></td></tr>"
        }
        body += "</table><h2>Experiments</h2><table id=\"experiments\"><tr><th>device</th><th>campaign</th><th>experiment</th><th>aliquots</th><th>started (UTC)</th></tr>"
        for experiment in try await store.experiments(deviceID: nil, campaign: nil) {
            let link = "/experiment?device=\(HTML.queryComponent(experiment.deviceID))&amp;campaign=\(HTML.queryComponent(experiment.campaign))&amp;experiment=\(experiment.experiment)"
            body += "<tr class=\"experiment\"><td>\(HTML.escape(experiment.deviceID))</td><td>\(HTML.escape(experiment.campaign))</td>"
            body += "<td><a href=\"\(link)\">\(experiment.experiment)</a></td><td>\(experiment.samples)</td><td>\(HTML.time(experiment.firstNanoseconds))</td></tr>"
        }
        return page("aliquot-lab", body + "</table>")
    }

    /// Colors from blue (early) to red (late), for spectra over time.
    static func ramp(_ fraction: Double) -> String {
        let red = Int(40 + 200 * fraction), blue = Int(240 - 200 * fraction)
        return "rgb(\(red),60,\(blue))"
    }

    public func experimentPage(device: String, campaign: String, experiment: Int) async throws -> String {
        let samples = try await store.records(RecordQuery(deviceID: device, kind: .sample, campaign: campaign, experiment: experiment))
            .compactMap { SamplePayload(json: $0.payload) }.sorted { $0.timeSeconds < $1.timeSeconds }
        let spectra = try await store.records(RecordQuery(deviceID: device, kind: .spectrum, campaign: campaign, experiment: experiment))
            .compactMap { SpectrumPayload(json: $0.payload) }
        let events = try await store.records(RecordQuery(deviceID: device, kind: .event, experiment: experiment))
        var body = "<p>device \(HTML.escape(device)), campaign \(HTML.escape(campaign)), \(samples.count) aliquots</p><div id=\"plots\">"
        for (channel, label) in [("uv", "Absorbance"), ("pl", "PL")] {
            // A board journals each spectrum twice, raw counts and processed (absorbance, dark-
            // corrected PL; Rig's JournalRecorder): plot the processed ones when there are any.
            let all = spectra.filter { $0.channel == channel }
            let ofChannel = (all.contains(where: \.processed) ? all.filter(\.processed) : all).sorted { $0.timeSeconds < $1.timeSeconds }
            let lastTime = max(ofChannel.last?.timeSeconds ?? 1, 1)
            // The legend has room for about 14 entries: label every n-th spectrum and the last.
            let labelEvery = max(1, (ofChannel.count + 9) / 10)
            let series = ofChannel.enumerated().map { index, spectrum in
                SVGPlot.Series(
                    name: index % labelEvery == 0 || index == ofChannel.count - 1
                        ? "\(HTML.number(spectrum.timeSeconds, digits: 0)) s" : "",
                    points: zip(spectrum.wavelengthsNanometers, spectrum.values)
                        .filter { channel != "uv" || !spectrum.processed || Dashboard.absorbanceWindowNanometres.contains($0.0) }
                        .map { (x: $0, y: $1) },
                    color: Dashboard.ramp(spectrum.timeSeconds / lastTime))
            }
            let plot = SVGPlot(title: "\(label) spectra over time", xLabel: "wavelength (nm)", yLabel: label, series: series)
            body += plot.render(id: "\(channel)-spectra")
        }
        let peak = SVGPlot(
            title: "Peak vs time", xLabel: "t after injection (s)", yLabel: "peak (nm)",
            series: [
                .init(name: "abs peak", points: samples.compactMap { s in s.uv.map { (x: s.timeSeconds, y: $0.peakNanometers) } }, color: "#1f5fbf", markers: true),
                .init(name: "PL peak", points: samples.compactMap { s in s.pl.map { (x: s.timeSeconds, y: $0.peakNanometers) } }, color: "#bf1f1f", markers: true),
                .init(name: "predicted", points: samples.compactMap { s in s.predictedPeakNanometers.map { (x: s.timeSeconds, y: $0) } }, color: "#333", dashed: true),
            ])
        let fwhm = SVGPlot(
            title: "FWHM vs time", xLabel: "t after injection (s)", yLabel: "FWHM (nm)",
            series: [
                .init(name: "abs FWHM", points: samples.compactMap { s in s.uv.map { (x: s.timeSeconds, y: $0.fwhmNanometers) } }, color: "#1f5fbf", markers: true),
                .init(name: "PL FWHM", points: samples.compactMap { s in s.pl.map { (x: s.timeSeconds, y: $0.fwhmNanometers) } }, color: "#bf1f1f", markers: true),
                .init(name: "predicted", points: samples.compactMap { s in s.predictedFWHMNanometers.map { (x: s.timeSeconds, y: $0) } }, color: "#333", dashed: true),
            ])
        body += peak.render(id: "peak-vs-time") + fwhm.render(id: "fwhm-vs-time") + "</div>"
        body += "<h2>Aliquots</h2><table id=\"aliquots\"><tr><th>aliquot</th><th>t (s)</th><th>abs peak (nm)</th><th>abs FWHM (nm)</th><th>PL peak (nm)</th><th>PL FWHM (nm)</th><th>predicted peak (nm)</th></tr>"
        for sample in samples {
            body += "<tr class=\"aliquot\"><td>\(sample.aliquot)</td><td>\(HTML.number(sample.timeSeconds))</td><td>\(HTML.number(sample.uv?.peakNanometers))</td>"
            body += "<td>\(HTML.number(sample.uv?.fwhmNanometers))</td><td>\(HTML.number(sample.pl?.peakNanometers))</td><td>\(HTML.number(sample.pl?.fwhmNanometers))</td>"
            body += "<td>\(HTML.number(sample.predictedPeakNanometers))</td></tr>"
        }
        body += "</table><h2>Safety events</h2><table id=\"safety-events\"><tr><th>time (UTC)</th><th>type</th><th>severity</th><th>message</th></tr>"
        for record in events {
            guard let event = EventPayload(json: record.payload), event.type == "safety" || event.type == "alarm" || event.severity != "info" else { continue }
            body += "<tr class=\"safety-event\"><td>\(HTML.time(record.timeNanoseconds))</td><td>\(HTML.escape(event.type))</td>"
            body += "<td>\(HTML.escape(event.severity))</td><td>\(HTML.escape(event.message))</td></tr>"
        }
        return page("Experiment \(experiment)", body + "</table>")
    }

    public func logPage(device: String?, search: String?, level: LogLevel?) async throws -> String {
        let logs = try await store.records(
            RecordQuery(deviceID: device, kind: .log, search: search, minimumLevel: level, newestFirst: true, limit: 500))
        var body = "<form method=\"get\" action=\"/logs\"><input name=\"q\" value=\"\(HTML.escape(search ?? ""))\" placeholder=\"search\">"
        body += "<select name=\"level\"><option value=\"\">any level</option>"
        for option in LogLevel.allCases {
            body += "<option value=\"\(option.name)\"\(option == level ? " selected" : "")>\(option.name) and above</option>"
        }
        body += "</select><input name=\"device\" value=\"\(HTML.escape(device ?? ""))\" placeholder=\"device\"><button>Filter</button></form>"
        body += "<table id=\"logs\"><tr><th>time (UTC)</th><th>device</th><th>level</th><th>message</th></tr>"
        for record in logs {
            body += "<tr class=\"log\"><td>\(HTML.time(record.timeNanoseconds))</td><td>\(HTML.escape(record.deviceID))</td>"
            body += "<td>\(record.level?.name ?? "–")</td><td>\(HTML.escape(record.message ?? ""))</td></tr>"
        }
        return page("Logs", body + "</table>")
    }

    /// The published CSV schema (/work/shared/data/cdse/README.md): UV repeats `height` after
    /// `FWHM_eV`; PL has one `height`, last.
    public static let uvHeader = "Expt. No,T_external,Cd_mM,Se_mM,OA_Cd_ratio,T_reactor,t_s,Peak_nm,FWHM_nm,height,Peak_eV,FWHM_eV,height"
    public static let plHeader = "Expt. No,T_external,Cd_mM,Se_mM,OA_Cd_ratio,T_reactor,t_s,Peak_nm,FWHM_nm,Peak_eV,FWHM_eV,height"

    public func csv(device: String, campaign: String, channel: String) async throws -> String {
        let records = try await store.records(RecordQuery(deviceID: device, kind: .sample, campaign: campaign, limit: 1_000_000))
        var lines = [channel == "uv" ? Dashboard.uvHeader : Dashboard.plHeader]
        func cell(_ value: Double?) -> String { value.map { $0.isFinite ? "\($0)" : "" } ?? "" }
        for record in records {
            guard let sample = SamplePayload(json: record.payload), let fit = channel == "uv" ? sample.uv : sample.pl else { continue }
            var row = [
                record.experiment.map(String.init) ?? "", cell(sample.externalCelsius), cell(sample.cadmiumMillimolar),
                cell(sample.seleniumMillimolar), cell(sample.oleicAcidToCadmium), cell(sample.reactorCelsius),
                cell(sample.timeSeconds), cell(fit.peakNanometers), cell(fit.fwhmNanometers),
            ]
            if channel == "uv" {
                row += [cell(fit.height), cell(fit.peakElectronvolts), cell(fit.fwhmElectronvolts), cell(fit.height)]
            } else {
                row += [cell(fit.peakElectronvolts), cell(fit.fwhmElectronvolts), cell(fit.height)]
            }
            lines.append(row.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

func html(_ text: String) -> Response {
    Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
}
