import CHDF5
import Foundation

/// A scalar attribute value. Strings are stored as variable-length UTF-8, which h5py reads as `str`.
public enum HDF5AttributeValue: Sendable, Equatable, CustomStringConvertible {
    /// A 64-bit signed integer (stored as little-endian int64).
    case int64(Int64)
    /// A double-precision float (stored as little-endian float64).
    case double(Double)
    /// A variable-length UTF-8 string.
    case string(String)

    public var description: String {
        switch self {
        case .int64(let value): "\(value) (int64)"
        case .double(let value): "\(value) (double)"
        case .string(let value): "\"\(value)\" (string)"
        }
    }
}

extension HDF5Object {
    /// Sets attribute `name` to `value`, replacing any attribute of that name.
    public func setAttribute(_ name: String, _ value: HDF5AttributeValue) throws {
        let operation = "set attribute \"\(name)\""
        try requireOpen(operation)
        if try check(H5Aexists(identifier, name), operation) > 0 {
            try check(H5Adelete(identifier, name), operation + " (delete the old one)")
        }
        let space = try check(H5Screate(H5S_SCALAR), operation + " (create dataspace)")
        defer { H5Sclose(space) }
        switch value {
        case .int64(var integer):
            let attribute = try check(H5Acreate2(identifier, name, h5t_std_i64le(), space, h5p_default(), h5p_default()), operation)
            defer { H5Aclose(attribute) }
            try check(H5Awrite(attribute, h5t_native_int64(), &integer), operation)
        case .double(var real):
            let attribute = try check(H5Acreate2(identifier, name, h5t_ieee_f64le(), space, h5p_default(), h5p_default()), operation)
            defer { H5Aclose(attribute) }
            try check(H5Awrite(attribute, h5t_native_double(), &real), operation)
        case .string(let text):
            let type = try variableLengthStringType(cset: H5T_CSET_UTF8, operation)
            defer { H5Tclose(type) }
            let attribute = try check(H5Acreate2(identifier, name, type, space, h5p_default(), h5p_default()), operation)
            defer { H5Aclose(attribute) }
            try text.withCString { characters in
                var pointer: UnsafePointer<CChar>? = characters
                try check(H5Awrite(attribute, type, &pointer), operation)
            }
        }
    }

    /// The attribute `name`: integers of any width read as `.int64`, floats as `.double`, and
    /// fixed- or variable-length strings as `.string`.
    /// - Throws: `HDF5Error` if it is missing, not a scalar, or of another type class.
    public func attribute(_ name: String) throws -> HDF5AttributeValue {
        let operation = "read attribute \"\(name)\""
        try requireOpen(operation)
        guard try check(H5Aexists(identifier, name), operation) > 0 else {
            throw failure(operation, "no such attribute (attributes here: \(try attributeNames()))")
        }
        let attribute = try check(H5Aopen(identifier, name, h5p_default()), operation)
        defer { H5Aclose(attribute) }
        let space = try check(H5Aget_space(attribute), operation)
        defer { H5Sclose(space) }
        let elementCount = try check(H5Sget_simple_extent_npoints(space), operation)
        guard elementCount == 1 else {
            throw failure(operation, "holds \(elementCount) elements; only scalar attributes are supported")
        }
        let type = try check(H5Aget_type(attribute), operation)
        defer { H5Tclose(type) }
        switch H5Tget_class(type) {
        case H5T_INTEGER:
            var integer: Int64 = 0
            try check(H5Aread(attribute, h5t_native_int64(), &integer), operation)
            return .int64(integer)
        case H5T_FLOAT:
            var real: Double = 0
            try check(H5Aread(attribute, h5t_native_double(), &real), operation)
            return .double(real)
        case H5T_STRING:
            return .string(try readString(attribute, fileType: type, operation))
        default:
            throw failure(operation, "has an unsupported type class (expected integer, float or string)")
        }
    }

    /// The attribute `name` as an integer. - Throws: `HDF5Error` if missing or of another type.
    public func int64Attribute(_ name: String) throws -> Int64 {
        guard case .int64(let value) = try attribute(name) else {
            throw failure("read attribute \"\(name)\"", "expected an integer, found \(try attribute(name))")
        }
        return value
    }

    /// The attribute `name` as a double (integers are converted). - Throws: `HDF5Error` if missing or a string.
    public func doubleAttribute(_ name: String) throws -> Double {
        switch try attribute(name) {
        case .double(let value): return value
        case .int64(let value): return Double(value)
        case .string(let text): throw failure("read attribute \"\(name)\"", "expected a number, found string \"\(text)\"")
        }
    }

    /// The attribute `name` as a string. - Throws: `HDF5Error` if missing or a number.
    public func stringAttribute(_ name: String) throws -> String {
        guard case .string(let value) = try attribute(name) else {
            throw failure("read attribute \"\(name)\"", "expected a string, found \(try attribute(name))")
        }
        return value
    }

    /// Whether an attribute `name` exists.
    public func hasAttribute(_ name: String) throws -> Bool {
        try requireOpen("look up attribute \"\(name)\"")
        return try check(H5Aexists(identifier, name), "look up attribute \"\(name)\"") > 0
    }

    /// The names of all attributes, in increasing name order.
    public func attributeNames() throws -> [String] {
        try requireOpen("list attributes")
        final class Names { var values: [String] = [] }
        let names = Names()
        try withExtendedLifetime(names) {
            _ = try check(H5Aiterate2(identifier, H5_INDEX_NAME, H5_ITER_INC, nil, { _, name, _, context in
                guard let name, let context else { return 0 }
                Unmanaged<Names>.fromOpaque(context).takeUnretainedValue().values.append(String(cString: name))
                return 0
            }, Unmanaged.passUnretained(names).toOpaque()), "list attributes")
        }
        return names.values
    }

    private func variableLengthStringType(cset: H5T_cset_t, _ operation: String) throws -> hid_t {
        let type = try check(H5Tcopy(h5t_c_s1()), operation)
        do {
            try check(H5Tset_size(type, h5t_variable()), operation)
            try check(H5Tset_cset(type, cset), operation)
        } catch {
            H5Tclose(type)
            throw error
        }
        return type
    }

    private func readString(_ attribute: hid_t, fileType: hid_t, _ operation: String) throws -> String {
        let cset = H5Tget_cset(fileType)
        if try check(H5Tis_variable_str(fileType), operation) > 0 {
            let memoryType = try variableLengthStringType(cset: cset, operation)
            defer { H5Tclose(memoryType) }
            var pointer: UnsafeMutablePointer<CChar>? = nil
            try check(H5Aread(attribute, memoryType, &pointer), operation)
            guard let pointer else { return "" }
            defer { H5free_memory(pointer) }
            return String(cString: pointer)
        }
        // Fixed length: read the raw characters, then drop the padding (NULs or trailing spaces).
        let size = H5Tget_size(fileType)
        let memoryType = try check(H5Tcopy(fileType), operation)
        defer { H5Tclose(memoryType) }
        var buffer = [UInt8](repeating: 0, count: size + 1)
        try check(H5Aread(attribute, memoryType, &buffer), operation)
        var characters = Array(buffer.prefix { $0 != 0 })
        if H5Tget_strpad(fileType) == H5T_STR_SPACEPAD {
            while characters.last == UInt8(ascii: " ") { characters.removeLast() }
        }
        return String(decoding: characters, as: UTF8.self)
    }
}
