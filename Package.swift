// swift-tools-version: 6.0
import PackageDescription

// Targets mirror the architecture (see docs/architecture.md): imports point one way.
// Core and Text depend on nothing; backends see only Core; Pipelines see Core + Text and never a
// backend; Engine wires models to a backend; only the CLI (and later the server) see everything.
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
    ],
    targets: [
        .target(name: "UniNLUCore"),
        .target(name: "UniNLUText"),
        .target(
            name: "UniNLUCheckpoint",
            dependencies: ["UniNLUCore", .product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        .target(name: "UniNLUCPU", dependencies: ["UniNLUCore"]),
        .target(name: "CCUDA"),
        .target(name: "UniNLUCUDA", dependencies: ["UniNLUCore", "CCUDA"]),
        .target(name: "UniNLUModels", dependencies: ["UniNLUCore", "UniNLUCheckpoint"]),
        .target(name: "UniNLUPipelines", dependencies: ["UniNLUCore", "UniNLUText"]),
        .target(
            name: "UniNLUEngine",
            dependencies: ["UniNLUCore", "UniNLUText", "UniNLUCheckpoint", "UniNLUModels", "UniNLUCPU", "UniNLUCUDA", "UniNLUPipelines"]),
        .executableTarget(
            name: "uninlu",
            dependencies: ["UniNLUEngine", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "UniNLUTextTests", dependencies: ["UniNLUText"]),
        .testTarget(name: "UniNLUCheckpointTests", dependencies: ["UniNLUCheckpoint"]),
        .testTarget(name: "UniNLUCPUTests", dependencies: ["UniNLUCPU"]),
        .testTarget(name: "UniNLUCUDATests", dependencies: ["UniNLUCUDA", "UniNLUEngine"]),
        .testTarget(name: "UniNLUPipelinesTests", dependencies: ["UniNLUEngine"]),
        .testTarget(name: "UniNLUCLITests", dependencies: ["uninlu"]),
        .testTarget(name: "UniNLURexTests", dependencies: ["UniNLUEngine"]),
    ]
)
