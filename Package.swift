// swift-tools-version: 6.0
import PackageDescription

// Targets mirror the architecture (see docs/architecture.md): imports point one way.
// Core and Text depend on nothing; backends see only Core; Pipelines see Core + Text and never a
// backend; Engine wires models to a backend; only the CLI (and later the server) see everything.
// The numeric targets are optimised in every configuration: the parity tests run real forwards
// (thousands of GEMMs, 12 MB of fixture JSON), which an -Onone build makes 40x slower. Debug
// builds still pass -enable-testing, so @testable imports keep working.
let optimized: [SwiftSetting] = [.unsafeFlags(["-O"])]

let package = Package(
    name: "UniNLU",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "uninlu", targets: ["uninlu"]),
        .library(name: "UniNLUEngine", targets: ["UniNLUEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        .target(name: "UniNLUCore", swiftSettings: optimized),
        .target(name: "UniNLUText", swiftSettings: optimized),
        .target(
            name: "UniNLUCheckpoint",
            dependencies: ["UniNLUCore", .product(name: "ZIPFoundation", package: "ZIPFoundation")],
            swiftSettings: optimized),
        .target(name: "UniNLUCPU", dependencies: ["UniNLUCore"], swiftSettings: optimized),
        .target(name: "CCUDA"),
        .target(name: "UniNLUCUDA", dependencies: ["UniNLUCore", "CCUDA"]),
        .target(name: "UniNLUModels", dependencies: ["UniNLUCore", "UniNLUCheckpoint"], swiftSettings: optimized),
        .target(name: "UniNLUPipelines", dependencies: ["UniNLUCore", "UniNLUText"], swiftSettings: optimized),
        .target(
            name: "UniNLUEngine",
            dependencies: ["UniNLUCore", "UniNLUText", "UniNLUCheckpoint", "UniNLUModels", "UniNLUCPU", "UniNLUCUDA", "UniNLUPipelines"]),
        .target(
            name: "UniNLUServer",
            dependencies: [
                "UniNLUCore", "UniNLUText", "UniNLUPipelines", "UniNLUEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "uninlu",
            dependencies: [
                "UniNLUEngine", "UniNLUServer", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "UniNLUTextTests", dependencies: ["UniNLUText"]),
        .testTarget(name: "UniNLUCheckpointTests", dependencies: ["UniNLUCheckpoint"]),
        .testTarget(name: "UniNLUCPUTests", dependencies: ["UniNLUCPU"]),
        .testTarget(name: "UniNLUCUDATests", dependencies: ["UniNLUCUDA", "UniNLUEngine", "UniNLUCPU"]),
        .testTarget(name: "UniNLUPipelinesTests", dependencies: ["UniNLUEngine", "UniNLUCheckpoint"]),
        .testTarget(name: "UniNLUCLITests", dependencies: ["uninlu"]),
        .testTarget(name: "UniNLURexTests", dependencies: ["UniNLUEngine"]),
        .testTarget(
            name: "UniNLUServerTests",
            dependencies: [
                "UniNLUServer", "UniNLUCore", "UniNLUEngine", "UniNLUPipelines",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ]),
    ]
)
