// aliquot-lab: the lab server (Sources/LabServer): ingest from the boards, storage, dashboard.
import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import Journal
import LabServer
import Logging

struct DatabaseOption: ParsableArguments {
    @Option(help: "sqlite:PATH (default sqlite:aliquot-lab.sqlite) or postgres://user[:password]@host[:port]/database")
    var database = "sqlite:aliquot-lab.sqlite"

    func open(logger: Logger) async throws -> any LabStore {
        try await LabDatabase(parsing: database).open(logger: logger)
    }
}

@main
struct AliquotLab: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aliquot-lab", abstract: "The Aliquot lab server: ingest from the boards, storage, dashboard.",
        subcommands: [Serve.self, Device.self, Bench.self])
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the ingest API (POST /api/v1/batches) and the dashboard.")
    @OptionGroup var database: DatabaseOption
    @Option(help: "Port to listen on.") var port = 8080
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Largest accepted request body, bytes.") var maxBodyBytes = 16 << 20

    func run() async throws {
        var logger = Logger(label: "aliquot-lab")
        logger.logLevel = .info
        let store = try await database.open(logger: logger)
        let app = LabServer.application(
            store: store, configuration: LabServerConfiguration(host: host, port: port, maximumBodyBytes: maxBodyBytes),
            logger: logger)
        do {
            try await app.runService()
        } catch {
            await store.shutdown()
            throw error
        }
        await store.shutdown()
    }
}

struct Device: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage devices and their tokens.", subcommands: [Add.self, Rotate.self, Remove.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a device; prints its token once (only its SHA-256 is stored).")
        @Argument(help: "Device id: 1 to 64 characters of A-Z a-z 0-9 . _ -") var id: String
        @OptionGroup var database: DatabaseOption

        func run() async throws {
            guard UplinkBatch.isValidDeviceID(id) else {
                throw ValidationError("device id '\(id)' must be 1 to 64 characters of A-Z a-z 0-9 . _ -")
            }
            let store = try await database.open(logger: Logger(label: "aliquot-lab"))
            let token = DeviceToken.generate()
            do {
                try await store.addDevice(id: id, tokenHash: DeviceToken.hash(token), createdNanoseconds: realtimeNanoseconds())
            } catch {
                await store.shutdown()
                throw error
            }
            await store.shutdown()
            print(token)
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a device a new token; prints it once. The old token is refused from the next request.")
        @Argument(help: "Device id.") var id: String
        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let store = try await database.open(logger: Logger(label: "aliquot-lab"))
            let token = DeviceToken.generate()
            do {
                try await store.replaceTokenHash(deviceID: id, tokenHash: DeviceToken.hash(token))
            } catch {
                await store.shutdown()
                throw error
            }
            await store.shutdown()
            print(token)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a device: its token is refused from the next request; the records it pushed stay.")
        @Argument(help: "Device id.") var id: String
        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let store = try await database.open(logger: Logger(label: "aliquot-lab"))
            do {
                try await store.removeDevice(id: id)
            } catch {
                await store.shutdown()
                throw error
            }
            await store.shutdown()
            print("removed \(id)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List devices.")
        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let store = try await database.open(logger: Logger(label: "aliquot-lab"))
            let devices: [LabDevice]
            do {
                devices = try await store.devices()
            } catch {
                await store.shutdown()
                throw error
            }
            await store.shutdown()
            for device in devices {
                let seen = device.lastSeenNanoseconds.map { "\($0 / 1_000_000_000)" } ?? "never"
                print("\(device.id)\tlast_seen_s=\(seen)\trecords=\(device.recordCount)")
            }
        }
    }
}

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Ingest records/s over HTTP on 127.0.0.1 (SQLite, PostgreSQL) and the experiment page's render time.")
    @Option(help: "PostgreSQL URL for the PostgreSQL run (default: $ALIQUOT_TEST_POSTGRES_URL; skipped when neither is set).")
    var postgres: String?
    @Option(help: "Simulated boards.") var boards = 4
    @Option(help: "Batches per board.") var batches = 50
    @Option(help: "Records per batch.") var records = 500
    @Option(help: "Scratch directory for the SQLite file.") var scratch = "/tmp"

    func run() async throws {
        var logger = Logger(label: "aliquot-lab-bench")
        // Stopping the server between runs logs the cancelled channel: not a failure.
        logger.logLevel = .critical
        var stores: [(String, any LabStore)] = []
        let sqlitePath = "\(scratch)/aliquot-lab-bench-\(realtimeNanoseconds()).sqlite"
        stores.append(("sqlite", try SQLiteLabStore(path: sqlitePath)))
        if let url = postgres ?? environment("ALIQUOT_TEST_POSTGRES_URL") {
            stores.append(("postgresql", try await LabDatabase(parsing: url).open(logger: logger)))
        } else {
            print("postgresql: skipped (no --postgres and no ALIQUOT_TEST_POSTGRES_URL; .ci/postgres.sh run -- ... starts one)")
        }
        for (name, store) in stores {
            let result = try await withServer(store: store, logger: logger) { port in
                try await LabBench.ingest(store: store, port: port, boards: boards, batchesPerBoard: batches, recordsPerBatch: records)
            }
            print("\(name): ingest \(Int(result.recordsPerSecond)) records/s (\(result.records) records, \(boards) boards, \(records) records/batch, \(String(format2(result.seconds))) s)")
        }
        let pageStore = try SQLiteLabStore(path: "\(scratch)/aliquot-lab-page-\(realtimeNanoseconds()).sqlite")
        let page = try await LabBench.experimentPageSeconds(store: pageStore, aliquots: 20, points: 1024, repeats: 9)
        print("experiment page (20 aliquots, 2 x 1024-point spectra each): \(format2(page * 1000)) ms median render")
        for (_, store) in stores { await store.shutdown() }
        await pageStore.shutdown()
    }

    func withServer<T: Sendable>(store: any LabStore, logger: Logger, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> T {
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = LabServer.application(
            store: store, configuration: LabServerConfiguration(host: "127.0.0.1", port: 0), logger: logger,
            onServerRunning: { port in portContinuation.yield(port) })
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await app.run()
                return nil
            }
            var ports = portStream.makeAsyncIterator()
            guard let port = await ports.next() else { throw BenchError("the server did not start") }
            let result = try await body(port)
            group.cancelAll()
            return result
        }
    }
}

func format2(_ value: Double) -> String {
    let rounded = (value * 100).rounded() / 100
    return "\(rounded)"
}

func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}
