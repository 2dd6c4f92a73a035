import Foundation

extension SafeTensors {
    /// Serializes `entries` with an optional `__metadata__` map, deterministically and byte for byte
    /// as the reference writer (Python `safetensors`) does: tensors ordered by element type, widest
    /// first, then by name — so every tensor's data stays aligned to its element size — a compact
    /// JSON header in that order (keys `dtype`, `shape`, `data_offsets`; metadata first, its keys
    /// sorted), padded with spaces so the data starts on an 8-byte boundary.
    /// - Throws: `SafeTensorsError` for duplicate or reserved names, negative dimensions, or a byte
    ///   count that does not match dtype × shape.
    public static func encode(_ entries: [SafeTensorsEntry], metadata: [String: String] = [:],
                              destination: String = "<memory>") throws -> Data {
        let sorted = try validatedForWriting(entries, destination: destination)
        var header = "{"
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted(by: byteOrder).map { key in
                "\(jsonString(key)):\(jsonString(metadata[key]!))"
            }
            fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for entry in sorted {
            let shape = entry.shape.map(String.init).joined(separator: ",")
            fields.append("\(jsonString(entry.name)):{\"dtype\":\"\(entry.dataType.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + entry.bytes.count)]}")
            offset += entry.bytes.count
        }
        header += fields.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        // 8 (length) + header is a multiple of 8 exactly when the header length is.
        headerBytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - headerBytes.count % 8) % 8))

        var output = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { output.append(contentsOf: $0) }
        output.append(contentsOf: headerBytes)
        for entry in sorted { output.append(entry.bytes) }
        return output
    }

    /// Writes `entries` to `url` atomically (a temporary file in the same directory, then a rename).
    /// - Throws: `SafeTensorsError` for invalid entries, `AtomicFileError` if the write fails.
    public static func write(_ entries: [SafeTensorsEntry], metadata: [String: String] = [:], to url: URL) throws {
        let data = try encode(entries, metadata: metadata, destination: url.path)
        try AtomicFile.write(data, to: url)
    }

    private static func validatedForWriting(_ entries: [SafeTensorsEntry], destination: String) throws -> [SafeTensorsEntry] {
        var names = Set<String>()
        for entry in entries {
            func fail(_ kind: SafeTensorsError.Kind, _ detail: String) -> SafeTensorsError {
                SafeTensorsError(kind, source: destination, tensor: entry.name, detail)
            }
            guard entry.name != "__metadata__" else {
                throw fail(.reservedName, "\"__metadata__\" is reserved for the metadata map")
            }
            guard names.insert(entry.name).inserted else {
                throw fail(.duplicateName, "given more than once")
            }
            if let negative = entry.shape.first(where: { $0 < 0 }) {
                throw fail(.negativeDimension, "shape \(entry.shape) has negative dimension \(negative)")
            }
            let expected = entry.elementCount * entry.dataType.byteSize
            guard entry.bytes.count == expected else {
                throw fail(.sizeMismatch,
                           "\(entry.dataType.rawValue) × shape \(entry.shape) needs \(expected) bytes, found \(entry.bytes.count)")
            }
        }
        return entries.sorted { left, right in
            left.dataType == right.dataType
                ? byteOrder(left.name, right.name) : left.dataType.referenceRank > right.dataType.referenceRank
        }
    }

    /// Orders by UTF-8 bytes, like the reference writer (Rust's `String` order), independent of locale.
    private static func byteOrder(_ left: String, _ right: String) -> Bool {
        left.utf8.lexicographicallyPrecedes(right.utf8)
    }

    /// A JSON string literal escaped as serde_json does: `"` `\` and control characters only.
    static func jsonString(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{08}": result += "\\b"
            case "\u{0C}": result += "\\f"
            case let control where control.value < 0x20:
                let hex = String(control.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
