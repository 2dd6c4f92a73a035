import Foundation

/// Why a safetensors file (or a set of entries about to be written) was rejected: which file,
/// which tensor or field, and what was found against what was expected.
public struct SafeTensorsError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// The class of problem, for callers that branch on it (tests, the CLI's exit codes).
    public enum Kind: String, Sendable, Equatable {
        case unreadableFile
        case fileTooShort
        case headerTooLarge
        case headerLengthOutOfRange
        case invalidHeaderJSON
        case invalidField
        case unknownDataType
        case negativeDimension
        case sizeMismatch
        case offsetsOutOfRange
        case overlappingOffsets
        case unindexedBytes
        case duplicateName
        case reservedName
        case missingTensor
        case dataTypeMismatch
    }

    /// The class of problem.
    public let kind: Kind
    /// The file path, or `<memory>` for bytes that were never a file.
    public let source: String
    /// The tensor concerned, when there is one.
    public let tensor: String?
    /// What was found versus what was expected.
    public let detail: String

    public init(_ kind: Kind, source: String, tensor: String? = nil, _ detail: String) {
        self.kind = kind
        self.source = source
        self.tensor = tensor
        self.detail = detail
    }

    public var description: String {
        if let tensor { return "safetensors \(source): tensor \"\(tensor)\": \(detail)" }
        return "safetensors \(source): \(detail)"
    }

    public var errorDescription: String? { description }
}
