// swift-tools-version:6.3
// 6.3 is the toolchain CI builds and tests with (and deploy/Dockerfile uses):
// the NonisolatedNonsendingByDefault setting below changes what runs where, so
// an older compiler must refuse the package, not build it differently.
import PackageDescription

// Strata builds from the Swift toolchain alone: no package dependencies, only
// system C libraries (libsqlite3, libpq, OpenSSL's libssl and libcrypto) through the
// targets below.
let package = Package(
    name: "Strata",
    products: [
        .executable(name: "strata", targets: ["strata"]),
        .executable(name: "strata-web", targets: ["strata-web"]),
        .executable(name: "strata-app", targets: ["strata-app"]),
        .executable(name: "strata-data", targets: ["strata-data"]),
        // Runs domain modules in a test process, all three tiers and no sockets (see TestApp).
        .library(name: "StrataTesting", targets: ["StrataTesting"]),
    ],
    targets: [
        // C bindings
        .target(name: "CStrataShims", linkerSettings: [.linkedLibrary("crypto")]),
        .target(name: "CStrataPassword", linkerSettings: [.linkedLibrary("crypt")]),
        // OpenSSL's libssl (it comes with libpq-dev) behind plain C types: contexts, sessions, certificates.
        .target(name: "CStrataTLS", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // Libraries, bottom-up
        .target(name: "StrataCore", dependencies: ["CStrataShims"]),
        .target(name: "StrataCLI", dependencies: ["StrataCore"]),
        .target(name: "StrataIO", dependencies: ["StrataCore", "CStrataShims", "CStrataTLS"]),
        .target(name: "StrataHTTP", dependencies: ["StrataCore", "StrataCLI", "StrataIO", "CZlib", "CStrataShims"]),
        .target(name: "StrataTemplates", dependencies: ["StrataCore"]),
        .target(name: "StrataRPC", dependencies: ["StrataCore", "StrataIO"]),
        // The contracts between tiers: the data tier's methods and messages, the manifest and form outcomes.
        .target(name: "StrataProtocol", dependencies: ["StrataCore", "StrataRPC"]),
        // The database drivers and migrations: only the data tier links them (and libsqlite3, libpq).
        .target(name: "StrataSQL", dependencies: ["StrataCore", "StrataIO", "StrataProtocol", "CSQLite", "CPostgres"]),
        .target(
            name: "StrataApp",
            dependencies: ["StrataCore", "StrataCLI", "StrataIO", "StrataHTTP", "StrataRPC", "StrataProtocol", "StrataTemplates", "CStrataPassword"],
            resources: [.copy("Auth/templates")]
        ),
        .target(
            name: "StrataWeb",
            dependencies: ["StrataCore", "StrataCLI", "StrataIO", "StrataHTTP", "StrataRPC", "StrataProtocol", "StrataTemplates"],
            resources: [.copy("Public"), .copy("Templates")]
        ),
        .target(
            name: "Guestbook",
            dependencies: ["StrataApp"],
            path: "Sources/Modules/Guestbook",
            resources: [.copy("templates")]
        ),
        .target(
            name: "Tasks",
            dependencies: ["StrataApp"],
            path: "Sources/Modules/Tasks",
            resources: [.copy("templates"), .copy("public")]
        ),
        .target(
            name: "Todos",
            dependencies: ["StrataApp"],
            path: "Sources/Modules/Todos",
            resources: [.copy("templates")]
        ),
        .target(
            name: "Bench",
            dependencies: ["StrataApp"],
            path: "Sources/Modules/Bench",
            resources: [.copy("templates")]
        ),
        .target(name: "StrataData", dependencies: ["StrataCore", "StrataCLI", "StrataIO", "StrataHTTP", "StrataRPC", "StrataProtocol", "StrataSQL"]),
        .target(
            name: "StrataTesting",
            dependencies: [
                "StrataCore", "StrataIO", "StrataHTTP", "StrataRPC", "StrataProtocol", "StrataSQL", "StrataApp", "StrataWeb", "StrataData",
            ]),
        .target(name: "StrataLauncher", dependencies: ["StrataCore", "StrataCLI", "StrataIO", "StrataRPC"]),

        // Thin executables: parse arguments, wire the parts, run.
        .executableTarget(name: "strata-data", dependencies: ["StrataData"]),
        .executableTarget(name: "strata-app", dependencies: ["StrataApp", "Guestbook", "Tasks", "Todos", "Bench"]),
        .executableTarget(name: "strata-web", dependencies: ["StrataWeb"]),
        // Depending on the tier executables makes `swift run strata up` build them too.
        .executableTarget(
            name: "strata",
            dependencies: ["StrataLauncher", "strata-web", "strata-app", "strata-data"]
        ),

        // Tests
        .target(name: "StrataTestSupport", path: "Tests/StrataTestSupport"),
        // Fuzz targets for every parser of untrusted input: Tests/Fuzz/run.sh builds them with libFuzzer.
        .executableTarget(
            name: "StrataFuzz",
            dependencies: [
                "StrataCore", "StrataIO", "StrataHTTP", "StrataRPC", "StrataProtocol", "StrataSQL", "StrataTemplates", "StrataApp", "StrataWeb",
            ],
            path: "Tests/Fuzz/Targets"),
        // RPC benchmark (echo calls over loopback): Tests/Benchmarks/rpc-bench.sh runs it.
        .executableTarget(name: "StrataRPCBench", dependencies: ["StrataCore", "StrataIO", "StrataRPC"], path: "Tests/Benchmarks/RPC"),
        // Data-tier benchmark (SQLite and a throwaway PostgreSQL): Tests/Benchmarks/data-bench.sh runs it.
        .executableTarget(
            name: "StrataDataBench",
            dependencies: ["StrataCore", "StrataIO", "StrataRPC", "StrataProtocol", "StrataSQL", "StrataData", "StrataTestSupport"],
            path: "Tests/Benchmarks/Data"),
        // Web middleware chain with and without request metrics: swift run -c release StrataMiddlewareBench.
        .executableTarget(
            name: "StrataMiddlewareBench", dependencies: ["StrataCore", "StrataIO", "StrataHTTP"], path: "Tests/Benchmarks/Middleware"),
        // Template rendering benchmark: Tests/Benchmarks/template-bench.sh runs it.
        .executableTarget(name: "StrataTemplateBench", dependencies: ["StrataTemplates"], path: "Tests/Benchmarks/Templates"),
        .testTarget(
            name: "StrataTests",
            dependencies: [
                "StrataCore", "StrataCLI", "StrataIO", "StrataHTTP", "StrataTemplates", "StrataRPC", "StrataProtocol",
                "StrataSQL", "StrataApp", "StrataWeb", "StrataData", "StrataLauncher", "StrataTesting", "Guestbook", "Tasks", "Todos",
                "StrataTestSupport", "CPostgres",
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "StrataTestSupport", "StrataIO", "StrataRPC", "StrataProtocol", "StrataSQL", "strata", "strata-web", "strata-app", "strata-data",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// An async function runs on its caller's executor (SE-0461) instead of hopping
// at every call: with no actors in Strata, the only effect is that a call
// stays on the event loop it came from without a runtime check per call.
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [.enableUpcomingFeature("NonisolatedNonsendingByDefault")]
}
