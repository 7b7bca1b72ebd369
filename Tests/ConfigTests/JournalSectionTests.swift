import Testing

@testable import Config

/// `twinBoard` (27 lines) with sections from line 29 on.
private func board(_ sections: String) -> String { twinBoard + "\n\n" + sections }

@Suite struct JournalSectionTests {
    @Test func absentSectionsGiveTheDefaultJournalAndNoUplink() throws {
        let parsed = try BoardFile.parse(text: twinBoard, path: "bench.toml")
        #expect(parsed.journal == JournalConfig(path: "aliquot-journal.sqlite", maxMB: 1024))
        #expect(parsed.journal.maxBytes == 1024 * 1024 * 1024)
        #expect(parsed.uplink == nil)
    }

    @Test func everyKeyGiven() throws {
        let parsed = try BoardFile.parse(
            text: board("""
                [journal]
                path = "/var/lib/aliquot/j.sqlite"
                max_mb = 64

                [uplink]
                enabled = false
                url = "https://lab.example.org/ingest"
                device_id = "reactor-01"
                token_file = "/etc/aliquot/token"
                batch_records = 50
                interval_s = 5
                """), path: "bench.toml")
        #expect(parsed.journal == JournalConfig(path: "/var/lib/aliquot/j.sqlite", maxMB: 64))
        #expect(parsed.uplink == UplinkConfig(
            enabled: false, url: "https://lab.example.org/ingest", deviceID: "reactor-01",
            tokenFile: "/etc/aliquot/token", batchRecords: 50, intervalS: 5))
    }

    @Test func uplinkDefaults() throws {
        let parsed = try BoardFile.parse(
            text: board("[uplink]\nurl = \"http://10.0.0.2:8080/ingest\"\ndevice_id = \"rig\""), path: "bench.toml")
        #expect(parsed.uplink == UplinkConfig(
            enabled: true, url: "http://10.0.0.2:8080/ingest", deviceID: "rig", tokenFile: nil, batchRecords: 500,
            intervalS: 30))
    }

    @Test(arguments: [
        ("[journal]\nmax_mb = 0", "bench.toml:30: journal.max_mb = 0 is out of range: allowed 1 to 1048576 (MiB)"),
        ("[journal]\nmax_mb = 1048577", "bench.toml:30: journal.max_mb = 1048577 is out of range: allowed 1 to 1048576 (MiB)"),
        ("[journal]\npath = \"\"", "bench.toml:30: journal.path must not be empty"),
        ("[uplink]\nurl = \"http://h\"\ndevice_id = \"r\"\nbatch_records = 0",
            "bench.toml:32: uplink.batch_records = 0 is out of range: allowed 1 to 10000"),
        ("[uplink]\nurl = \"http://h\"\ndevice_id = \"r\"\nbatch_records = 10001",
            "bench.toml:32: uplink.batch_records = 10001 is out of range: allowed 1 to 10000"),
        ("[uplink]\nurl = \"http://h\"\ndevice_id = \"r\"\ninterval_s = 0.5",
            "bench.toml:32: uplink.interval_s = 0.5 is out of range: allowed 1 to 3600 (s)"),
        ("[uplink]\nurl = \"http://h\"\ndevice_id = \"r\"\ninterval_s = 3601",
            "bench.toml:32: uplink.interval_s = 3601 is out of range: allowed 1 to 3600 (s)"),
        ("[uplink]\nurl = \"ftp://h\"\ndevice_id = \"r\"",
            "bench.toml:30: uplink.url = \"ftp://h\" is not an http:// or https:// URL (with a host, without spaces)"),
        ("[uplink]\nurl = \"https://\"\ndevice_id = \"r\"",
            "bench.toml:30: uplink.url = \"https://\" is not an http:// or https:// URL (with a host, without spaces)"),
        ("[uplink]\nurl = \"http://h\"\ndevice_id = \"rig 1\"",
            "bench.toml:31: uplink.device_id = \"rig 1\" is not allowed: 1 to 64 of A-Z a-z 0-9 . _ -"),
        ("[uplink]\ndevice_id = \"r\"", "bench.toml:29: missing required key uplink.url: a string, not empty"),
        ("[uplink]\nurl = \"http://h\"\ndevice_id = \"r\"\nmax_mb = 3",
            "bench.toml:32: unknown key uplink.max_mb; allowed: enabled, url, device_id, token_file, batch_records, interval_s"),
    ])
    func rangeErrorsNameTheKey(sections: String, message: String) {
        #expect(throws: BoardFileError.self) { try BoardFile.parse(text: board(sections), path: "bench.toml") }
        do {
            _ = try BoardFile.parse(text: board(sections), path: "bench.toml")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func bothBoardFilesCarryTheSections() throws {
        let root = String(#filePath.prefix { $0 != "\u{0}" }).split(separator: "/").dropLast(3).joined(separator: "/")
        let sim = try BoardFile.load(path: "/\(root)/Boards/sim.toml")
        #expect(sim.journal.maxMB == 2048 && sim.uplink?.enabled == false)
        let hat = try BoardFile.load(path: "/\(root)/Boards/rpi5-reactor-hat.toml")
        #expect(hat.journal.path == "/var/lib/aliquot/journal.sqlite" && hat.uplink?.enabled == true)
        #expect(hat.uplink?.tokenFile == "/etc/aliquot/uplink-token")
    }
}
