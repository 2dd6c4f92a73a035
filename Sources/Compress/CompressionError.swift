// Errors of pruning and quantization: the tensor (or setting) and what was wrong with it.

import Foundation

/// A compression request that cannot be carried out, naming the tensor or option and the value found.
public struct CompressionError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}
