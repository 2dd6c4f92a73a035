// swift-tools-version:6.0
// Alambique — knowledge distillation, pruning and quantization of transformer LMs, in Swift.
// Targets and their one-way dependencies follow ../shared/DESIGN.md §2. CPU flags
// (-target-cpu haswell on x86-64) come from the Makefile, never from unsafeFlags here.
import PackageDescription

let package = Package(
    name: "Alambique",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "alambique", targets: ["alambique"]),
        .library(name: "Autodiff", targets: ["Autodiff"]),
        .library(name: "NN", targets: ["NN"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // System libraries.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5",
                       providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),

        // Libraries.
        .target(name: "Autodiff", dependencies: ["CBLAS"]),
        .target(name: "NN", dependencies: ["Autodiff"]),
        .target(name: "Tokenizers"),
        .target(name: "Models", dependencies: ["NN"]),
        .target(name: "Store", dependencies: ["CHDF5", "CZlib", "NN", "Tokenizers"]),
        .target(name: "Distill", dependencies: ["Models", "Store"]),
        // The integer dot products of the quantized batch-1 kernels (AVX2 via per-function target
        // attributes, a portable fallback chosen at run time).
        .target(name: "CQuantKernels"),
        .target(name: "Compress", dependencies: ["Models", "Store", "CQuantKernels"]),
        .target(name: "Evaluate", dependencies: ["Models", "Store", "Compress"]),
        // Lab grows into the experiment runner (issue 7); today it reads training configs and runs
        // gradual pruning (Compress's masks with Distill's trainer).
        .target(name: "Lab", dependencies: ["Distill", "Compress", "Evaluate", .product(name: "Yams", package: "Yams")]),
        // Other tools' formats for our models: GGUF for llama.cpp and ollama.
        .target(name: "Interop", dependencies: ["Compress"]),

        // The command-line tool: parse, call a library, print.
        .executableTarget(name: "alambique", dependencies: [
            "Autodiff", "NN", "Models", "Store", "Distill", "Compress", "Evaluate", "Tokenizers", "Lab", "Interop",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Coverage-guided fuzzing of every parser (`make fuzz` builds it with -D FUZZING and libFuzzer);
        // a plain build makes the seed inputs and replays saved ones.
        .executableTarget(name: "AlambiqueFuzz", dependencies: ["Store", "Models", "Tokenizers", "Compress", "Lab", "Interop"]),

        // Tests (Swift Testing). FuzzRegressions/ holds the fuzzers' saved inputs, read by path.
        .testTarget(name: "AutodiffTests", dependencies: ["Autodiff"]),
        .testTarget(name: "NNTests", dependencies: ["NN"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"], exclude: ["FuzzRegressions"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Models"], exclude: ["FuzzRegressions"]),
        .testTarget(name: "DistillTests", dependencies: ["Distill"]),
        .testTarget(name: "CompressTests", dependencies: ["Compress"]),
        .testTarget(name: "EvaluateTests", dependencies: ["Evaluate"]),
        .testTarget(name: "LabTests", dependencies: ["Lab"], exclude: ["FuzzRegressions"]),
        .testTarget(name: "InteropTests", dependencies: ["Interop"], exclude: ["FuzzRegressions"]),
        // End-to-end runs of the built command (the dependency makes sure it is built first).
        .testTarget(name: "CLITests", dependencies: ["alambique", "Tokenizers"]),
    ]
)
