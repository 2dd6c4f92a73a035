// The quantization schemes and their granularities (DESIGN.md §6 "Quantized tensors").
//
// int8 schemes keep one scale (and, asymmetric, one zero point) per output row ("channel") or
// per matrix ("tensor"). The ggml schemes keep one scale per block of 32 consecutive inputs of
// a row, inside the block's bytes, byte-for-byte as ggml lays them out: their granularity is
// `.block`.

/// How a matrix's float32 weights become small integers.
public enum QuantizationScheme: String, CaseIterable, Sendable, Codable {
    /// int8, q = clamp(round(x / scale), −127, 127), scale = amax / 127; zero point 0.
    case int8Symmetric = "int8-sym"
    /// int8, q = clamp(round(x / scale) + zp, −128, 127), scale = (max − min) / 255 over a range
    /// widened to include 0; x̂ = (q − zp) · scale.
    case int8Asymmetric = "int8-asym"
    /// ggml Q8_0: blocks of 32 → 34 bytes (fp16 d, 32 × int8), x̂ = q · d.
    case q8_0
    /// ggml Q4_0: blocks of 32 → 18 bytes (fp16 d, 16 bytes of nibbles), x̂ = (q − 8) · d.
    case q4_0
    /// ggml Q4_1: blocks of 32 → 20 bytes (fp16 d, fp16 m, 16 bytes of nibbles), x̂ = q · d + m.
    case q4_1

    /// Weights per ggml block.
    public static let blockSize = 32

    /// Parses a scheme name, case-insensitively: `int8-sym`, `int8-asym`, `q8_0`, `q4_0`, `q4_1`.
    /// - Throws: `CompressionError` quoting the text and listing the accepted names.
    public init(parsing text: String) throws {
        guard let scheme = Self(rawValue: text.lowercased()) else {
            let accepted = Self.allCases.map(\.rawValue).joined(separator: ", ")
            throw CompressionError("unknown quantization scheme \"\(text)\" (expected one of \(accepted))")
        }
        self = scheme
    }

    /// True for the ggml block formats (Q8_0, Q4_0, Q4_1), false for int8.
    public var isBlockFormat: Bool { bytesPerBlock != nil }

    /// Bytes per block of 32 weights for the ggml formats (34, 18, 20); nil for int8.
    public var bytesPerBlock: Int? {
        switch self {
        case .int8Symmetric, .int8Asymmetric: nil
        case .q8_0: 34
        case .q4_0: 18
        case .q4_1: 20
        }
    }

    /// The format label of model names (DESIGN.md §6): `INT8`, `INT8-ASYM`, `Q8_0`, `Q4_0`, `Q4_1`.
    public var formatLabel: String {
        switch self {
        case .int8Symmetric: "INT8"
        case .int8Asymmetric: "INT8-ASYM"
        case .q8_0: "Q8_0"
        case .q4_0: "Q4_0"
        case .q4_1: "Q4_1"
        }
    }

    /// The granularity a scheme uses when none is asked for: `.channel` for int8, `.block` for ggml.
    public var defaultGranularity: QuantizationGranularity { isBlockFormat ? .block : .channel }

    /// Whether `granularity` is allowed: `.tensor` or `.channel` for int8, only `.block` for ggml.
    public func supports(_ granularity: QuantizationGranularity) -> Bool {
        isBlockFormat ? granularity == .block : granularity != .block
    }
}

/// Which weights share one scale (and zero point).
public enum QuantizationGranularity: String, CaseIterable, Sendable, Codable {
    /// One scale for the whole matrix (int8 only).
    case tensor
    /// One scale per output row (int8 only).
    case channel
    /// One scale per block of 32 inputs within a row, stored in the block (ggml schemes only).
    case block

    /// Parses a granularity name, case-insensitively: `tensor`, `channel`, `block`.
    /// - Throws: `CompressionError` quoting the text and listing the accepted names.
    public init(parsing text: String) throws {
        guard let granularity = Self(rawValue: text.lowercased()) else {
            let accepted = Self.allCases.map(\.rawValue).joined(separator: ", ")
            throw CompressionError("unknown quantization granularity \"\(text)\" (expected one of \(accepted))")
        }
        self = granularity
    }
}
