// swift-tools-version: 6.0
import PackageDescription

/// Everything under the package root that is not the SQL resource target's own sources.
/// The SQL folders sit at the top level (design.md), so the target that embeds them is rooted
/// at "." and must exclude the rest of the tree explicitly.
let sqlTargetExcludes = [
    "Sources/CAuditSQLite", "Sources/CAuditZlib", "Sources/CAuditCurl", "Sources/AuditNet", "Sources/AuditCore", "Sources/AuditStore",
    "Sources/AuditCollect", "Sources/AuditCorrelate", "Sources/AuditExport", "Sources/AzureSimulator", "Sources/aoai-audit", "Sources/AuditTestSupport",
    "Tests", "README.md", "scripts", "Benchmarks", ".ci",
]

let package = Package(
    name: "aoai-audit",
    products: [
        .executable(name: "aoai-audit", targets: ["aoai-audit"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(name: "CAuditSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CAuditZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CAuditCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // The SQL folders (migrations/, queries/, exports/) embedded into the binary.
        .target(
            name: "AuditSQL",
            path: ".",
            exclude: sqlTargetExcludes,
            sources: ["Sources/AuditSQL"],
            // Embedded names must be unique across the three folders: dataset files end in
            // `.export.sql` so that a dataset and a named query may share a name.
            resources: [.embedInCode("migrations"), .embedInCode("queries"), .embedInCode("exports")]
        ),
        .target(name: "AuditCore", dependencies: ["CAuditZlib", .product(name: "Yams", package: "Yams")]),
        .target(name: "AuditStore", dependencies: ["AuditCore", "AuditSQL", "CAuditSQLite"]),
        .target(name: "AuditNet", dependencies: ["AuditCore", "CAuditCurl"]),
        .target(name: "AuditCollect", dependencies: ["AuditCore", "AuditStore", "AuditNet"]),
        .target(name: "AzureSimulator", dependencies: ["AuditCore", "CAuditZlib"]),
        .target(name: "AuditCorrelate", dependencies: ["AuditCore", "AuditStore"]),
        .target(name: "AuditExport", dependencies: ["AuditCore", "AuditStore", "AuditSQL", "CAuditZlib", .product(name: "Crypto", package: "swift-crypto")]),
        .executableTarget(
            name: "aoai-audit",
            dependencies: [
                "AuditCore", "AuditStore", "AuditNet", "AuditCollect", "AuditCorrelate", "AuditExport", "AzureSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(name: "AuditTestSupport", dependencies: ["AuditCore"], path: "Sources/AuditTestSupport"),
        .testTarget(name: "AuditCoreTests", dependencies: ["AuditCore", "AuditTestSupport"]),
        .testTarget(name: "AuditStoreTests", dependencies: ["AuditStore", "AuditTestSupport"]),
        .testTarget(name: "AuditCollectTests", dependencies: ["AuditCollect", "AuditCore", "AuditStore", "AuditNet", "AzureSimulator", "AuditTestSupport"]),
        .testTarget(name: "AuditCorrelateTests", dependencies: ["AuditCorrelate", "AuditCollect", "AuditCore", "AuditStore", "AzureSimulator", "AuditTestSupport"]),
        .testTarget(name: "AuditExportTests", dependencies: ["AuditExport", "AuditCore", "AuditStore", "AuditTestSupport"]),
        .testTarget(name: "AuditCLITests", dependencies: ["aoai-audit", "AuditTestSupport", "AzureSimulator"]),
        .testTarget(name: "AzureSimulatorTests", dependencies: ["AzureSimulator", "AuditCore", "AuditTestSupport"]),
        .testTarget(name: "AuditAuthTests", dependencies: ["AuditNet", "AuditCore", "AuditTestSupport"]),
        .testTarget(name: "AuditNetTests", dependencies: ["AuditNet", "AuditCore", "AzureSimulator", "AuditTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
    ]
}
