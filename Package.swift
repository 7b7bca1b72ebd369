// swift-tools-version:6.1
import PackageDescription

/// Aliquot: the controller of an automated hot-injection batch microreactor.
/// Modules depend one way, downwards: aliquot -> Rig -> (Control, Spectra, Learning, Devices, Twin,
/// LinuxIO, Config) -> Transports.
let package = Package(
    name: "Aliquot",
    products: [
        .executable(name: "aliquot", targets: ["aliquot"]),
        // The lab server: a separate executable, so the board binary never links its dependencies.
        .executable(name: "aliquot-lab", targets: ["aliquot-lab"]),
        // The twin behind real Linux drivers (USB gadgets, i2c-stub) for `make vmtest`.
        .executable(name: "aliquot-kernel-twin", targets: ["aliquot-kernel-twin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Test-only: counts heap allocations to prove the control tick allocates nothing.
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.1"),
        // The lab server only (aliquot-lab): HTTP and the fleet's PostgreSQL store.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // C libraries of the board OS, reached through small system-library targets.
        .systemLibrary(
            name: "CGPIOD", pkgConfig: "libgpiod",
            providers: [.apt(["libgpiod-dev"])]),
        .systemLibrary(
            name: "CI2C",
            providers: [.apt(["libi2c-dev"])]),
        .systemLibrary(
            name: "CLibUSB", pkgConfig: "libusb-1.0",
            providers: [.apt(["libusb-1.0-0-dev"])]),
        .systemLibrary(
            name: "CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(
            name: "CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        // One GPIO API for Swift over libgpiod 1.6 and 2.x.
        .target(name: "CGPIODShim", dependencies: ["CGPIOD"]),

        // libm: Double rounding in the instants.
        .target(name: "Transports", linkerSettings: [.linkedLibrary("m")]),
        .target(name: "Config"),
        .target(name: "LinuxIO", dependencies: ["Transports", "CGPIODShim", "CI2C", "CLibUSB"]),
        .target(name: "Devices", dependencies: ["Transports"]),
        .target(name: "Twin", dependencies: ["Transports"]),
        .target(name: "Control", dependencies: ["Transports", "Devices"]),
        .target(name: "Spectra"),
        // The int8 chain kernel in C: AVX2 / AVX-VNNI / NEON beyond the Swift baseline, chosen at run time.
        .target(name: "CQuantizedKernels"),
        .target(name: "Learning", dependencies: ["CQuantizedKernels"]),
        // The durable journal (SQLite WAL) and its store-and-forward uplink (libcurl).
        .target(name: "Journal", dependencies: ["Transports", "CSQLite", "CCurl"]),
        // Campaign files, recipes, experiment designs, the hot-injection sequencer, results.
        .target(name: "Campaign", dependencies: ["Transports", "Config", "Control", "Devices", "Spectra", "Learning"]),
        .target(
            name: "Rig",
            dependencies: [
                "Transports", "Config", "LinuxIO", "Devices", "Twin", "Control", "Spectra", "Learning", "Campaign",
                "Journal",
            ]),

        .executableTarget(
            name: "aliquot",
            dependencies: [
                "Rig", "Config", "Devices", "Control", "Spectra", "Learning", "Campaign", "Journal",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "aliquot-bench",
            dependencies: [
                "Rig", "Config", "Devices", "Twin", "Transports", "Control", "LinuxIO", "Spectra", "Learning", "Campaign",
                "Journal",
            ]),

        // The lab server: ingest from many boards, SQLite or PostgreSQL storage, the dashboard.
        .target(
            name: "LabServer",
            dependencies: [
                "Journal", "CSQLite", "Learning",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]),
        .executableTarget(
            name: "aliquot-lab",
            dependencies: ["LabServer", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // The twin's devices served through the kernel: FunctionFS and HID gadgets, CDC-ACM
        // gadget ports and i2c-stub registers, so the unmodified board binary runs against real
        // drivers in a VM (vm/, `make vmtest`).
        .target(name: "KernelTwin", dependencies: ["Transports", "Config", "LinuxIO", "Twin", "Rig", "Devices", "Journal"]),
        .executableTarget(name: "aliquot-kernel-twin", dependencies: ["KernelTwin", "Config", "Rig"]),

        .testTarget(name: "ConfigTests", dependencies: ["Config"]),
        .testTarget(name: "LinuxIOTests", dependencies: ["LinuxIO", "Transports"]),
        .testTarget(name: "DevicesTests", dependencies: ["Devices", "Twin", "Transports"]),
        .testTarget(name: "TwinTests", dependencies: ["Twin", "Transports"]),
        .testTarget(name: "ControlTests", dependencies: ["Control", "Devices", "Twin", "Transports"]),
        .testTarget(name: "SpectraTests", dependencies: ["Spectra", "aliquot"]),
        .testTarget(name: "LearningTests", dependencies: ["Learning"]),
        .testTarget(name: "KernelTwinTests", dependencies: ["KernelTwin", "Twin", "Transports"]),
        .testTarget(name: "CampaignTests", dependencies: ["Campaign", "Config", "Control", "Devices", "Spectra", "Learning", "Transports"]),
        .testTarget(name: "JournalTests", dependencies: ["Journal", "Transports"]),
        .testTarget(
            name: "LabServerTests",
            dependencies: [
                "LabServer", "Journal", "Rig", "Campaign", "Config", "Transports",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]),
        .testTarget(
            name: "AllocationTests",
            dependencies: [
                "Control", "Rig", "Devices", "Twin", "Transports",
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ]),
        .testTarget(
            name: "RigTests",
            dependencies: ["Rig", "Config", "Devices", "Twin", "Transports", "LinuxIO", "Campaign", "Journal", "aliquot"]),
    ],
    swiftLanguageModes: [.v6]
)
