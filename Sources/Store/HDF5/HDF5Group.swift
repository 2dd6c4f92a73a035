import CHDF5
import Foundation

/// What a group member is.
public enum HDF5MemberKind: Sendable, Equatable {
    case group
    case dataset
    case other
}

/// An HDF5 group: a directory of named groups and datasets, which can carry attributes.
public class HDF5Group: HDF5Object {
    /// Creates the group `name` (its parent must exist) and opens it.
    public func createGroup(_ name: String) throws -> HDF5Group {
        let operation = "create group \"\(name)\""
        try requireOpen(operation)
        let group = try check(H5Gcreate2(identifier, name, h5p_default(), h5p_default(), h5p_default()), operation)
        return HDF5Group(identifier: group, kind: .group, parent: self, filePath: filePath, path: memberPath(name))
    }

    /// Opens the existing group `name`.
    public func openGroup(_ name: String) throws -> HDF5Group {
        let operation = "open group \"\(name)\""
        try requireOpen(operation)
        try requireMember(name, operation)
        let group = try check(H5Gopen2(identifier, name, h5p_default()), operation)
        return HDF5Group(identifier: group, kind: .group, parent: self, filePath: filePath, path: memberPath(name))
    }

    /// Creates a dataset of `elementType` and `shape`.
    /// - Parameters:
    ///   - extendable: the first dimension (rows) may grow without limit (`appendRows`, `setRowCount`).
    ///   - chunkShape: the chunk dimensions; when nil and chunking is needed (extendable or
    ///     compressed), whole rows of about 1 MiB per chunk.
    ///   - compression: optional byte shuffle and gzip level; needs chunking.
    ///   - writeThrough: no chunk cache, so each write reaches the file in the call that makes it
    ///     and a failing one (a full disk) fails there, not in a later flush. For writers that fill
    ///     whole chunks once (the logit writer); rewriting parts of a chunk would then cost a
    ///     read and a recompression per write.
    public func createDataset(_ name: String, elementType: HDF5ElementType, shape: [Int], extendable: Bool = false,
                              chunkShape: [Int]? = nil, compression: HDF5Compression = .none,
                              writeThrough: Bool = false) throws -> HDF5Dataset {
        let operation = "create dataset \"\(name)\" \(elementType) \(shape)"
        try requireOpen(operation)
        guard !shape.isEmpty, shape.allSatisfy({ $0 >= 0 }) else {
            throw failure(operation, "shape must have at least one dimension and no negative ones")
        }
        let chunk = chunkShape
            ?? ((extendable || compression.isEnabled) ? defaultChunkShape(for: shape, elementType, extendable: extendable) : nil)
        if let chunk, chunk.count != shape.count || chunk.contains(where: { $0 <= 0 }) {
            throw failure(operation, "chunk shape \(chunk) must have \(shape.count) positive dimensions")
        }
        if compression.isEnabled, chunk == nil {
            throw failure(operation, "compression needs a chunked dataset")
        }
        if let level = compression.gzipLevel {
            guard (0 ... 9).contains(level) else { throw failure(operation, "gzip level \(level) is not in 0...9") }
            guard H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0 else {
                throw failure(operation, "this libhdf5 was built without the gzip (deflate) filter")
            }
        }

        let dimensions = shape.map { hsize_t($0) }
        var maximumDimensions = dimensions
        if extendable { maximumDimensions[0] = h5s_unlimited() }
        let space = try check(H5Screate_simple(Int32(shape.count), dimensions, maximumDimensions), operation)
        defer { H5Sclose(space) }
        let properties = try check(H5Pcreate(h5p_dataset_create()), operation)
        defer { H5Pclose(properties) }
        if let chunk {
            try check(H5Pset_chunk(properties, Int32(chunk.count), chunk.map { hsize_t($0) }), operation + " (chunking)")
        }
        // Filters run in the order added: shuffle bytes first, then deflate.
        if compression.shuffle { try check(H5Pset_shuffle(properties), operation + " (shuffle)") }
        if let level = compression.gzipLevel { try check(H5Pset_deflate(properties, UInt32(level)), operation + " (gzip)") }

        let access = try check(H5Pcreate(h5p_dataset_access()), operation)
        defer { H5Pclose(access) }
        if writeThrough, chunk != nil {
            try check(H5Pset_chunk_cache(access, 1, 0, 1), operation + " (no chunk cache)")
        }

        let fileType = try elementType.makeFileType()
        defer { if elementType == .float16 { H5Tclose(fileType) } }
        let dataset = try check(H5Dcreate2(identifier, name, fileType, space, h5p_default(), properties, access),
                                operation)
        return HDF5Dataset(identifier: dataset, elementType: elementType, parent: self, filePath: filePath, path: memberPath(name))
    }

    /// Opens the existing dataset `name`.
    /// - Throws: `HDF5Error` if missing or of an element type the wrapper does not handle.
    public func openDataset(_ name: String) throws -> HDF5Dataset {
        let operation = "open dataset \"\(name)\""
        try requireOpen(operation)
        try requireMember(name, operation)
        let dataset = try check(H5Dopen2(identifier, name, h5p_default()), operation)
        let path = memberPath(name)
        do {
            let type = try check(H5Dget_type(dataset), operation, object: path)
            defer { H5Tclose(type) }
            guard let elementType = HDF5ElementType(fileType: type) else {
                throw failure(operation, "element type is not one of int32, uint16, uint8, float32, float16", object: path)
            }
            return HDF5Dataset(identifier: dataset, elementType: elementType, parent: self, filePath: filePath, path: path)
        } catch {
            H5Dclose(dataset)
            throw error
        }
    }

    /// The names of the group's members (groups, datasets, …) in increasing name order.
    public func memberNames() throws -> [String] {
        try requireOpen("list members")
        var information = H5G_info_t()
        try check(H5Gget_info(identifier, &information), "list members")
        return try (0 ..< information.nlinks).map { index in
            let length = try check(H5Lget_name_by_idx(identifier, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, h5p_default()),
                                   "list members")
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            try check(H5Lget_name_by_idx(identifier, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, h5p_default()),
                      "list members")
            return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// Whether a member `name` (one level, no `/`) exists.
    public func contains(_ name: String) throws -> Bool {
        try requireOpen("look up \"\(name)\"")
        return try check(H5Lexists(identifier, name, h5p_default()), "look up \"\(name)\"") > 0
    }

    /// Whether member `name` is a group or a dataset.
    public func memberKind(_ name: String) throws -> HDF5MemberKind {
        let operation = "look up the kind of \"\(name)\""
        try requireOpen(operation)
        try requireMember(name, operation)
        let object = try check(H5Oopen(identifier, name, h5p_default()), operation)
        defer { H5Oclose(object) }
        switch H5Iget_type(object) {
        case H5I_GROUP: return .group
        case H5I_DATASET: return .dataset
        default: return .other
        }
    }

    /// A clear "no such member" error instead of HDF5's generic "object not found" stack.
    private func requireMember(_ name: String, _ operation: String) throws {
        let exists = try name.contains("/") || contains(name)
        guard exists else {
            throw failure(operation, "no member \"\(name)\" (members: \(try memberNames()))")
        }
    }

    /// Whole rows, about 1 MiB per chunk; a fixed first dimension caps it (HDF5 requires chunk ≤ size).
    private func defaultChunkShape(for shape: [Int], _ elementType: HDF5ElementType, extendable: Bool) -> [Int] {
        let rowElements = max(1, shape.dropFirst().reduce(1, *))
        let targetBytes = 1 << 20
        var rows = max(1, targetBytes / (rowElements * elementType.byteSize))
        if !extendable { rows = max(1, min(rows, shape[0])) }
        return [rows] + shape.dropFirst().map { max(1, $0) }
    }
}

/// An HDF5 file; it is also its own root group (`/`).
public final class HDF5File: HDF5Group {
    /// How to open a file.
    public enum Mode: Sendable {
        /// Open an existing file for reading.
        case readOnly
        /// Open an existing file for reading and writing.
        case readWrite
        /// Create the file, replacing any existing one.
        case truncate
        /// Create the file, failing if it exists.
        case createNew
    }

    /// Opens or creates the file at `url`.
    /// - Throws: `HDF5Error` naming the file, e.g. when it is missing or not an HDF5 file.
    public init(url: URL, mode: Mode) throws {
        silenceHDF5ErrorPrinting()
        let path = url.path
        let operation = "open (\(mode))"
        if mode == .readOnly || mode == .readWrite, !FileManager.default.fileExists(atPath: path) {
            throw HDF5Error(file: path, object: "/", operation: operation, detail: "no such file")
        }
        // libhdf5 trusts the lengths inside an existing file's metadata; they are checked first.
        if mode == .readOnly || mode == .readWrite { try HDF5StructureCheck.check(url) }
        let access = try hdf5Check(H5Pcreate(h5p_file_access()), file: path, object: "/", operation)
        defer { H5Pclose(access) }
        // Strong close: closing the file closes its objects too, so close() really finishes the file.
        try hdf5Check(H5Pset_fclose_degree(access, H5F_CLOSE_STRONG), file: path, object: "/", operation)
        let file: hid_t
        switch mode {
        case .readOnly: file = H5Fopen(path, h5_acc_rdonly(), access)
        case .readWrite: file = H5Fopen(path, h5_acc_rdwr(), access)
        case .truncate: file = H5Fcreate(path, h5_acc_trunc(), h5p_default(), access)
        case .createNew: file = H5Fcreate(path, h5_acc_excl(), h5p_default(), access)
        }
        if file < 0 {
            var detail = hdf5ErrorStackDescription()
            if detail.contains("file signature not found") { detail = "not an HDF5 file (\(detail))" }
            throw HDF5Error(file: path, object: "/", operation: operation, detail: detail)
        }
        isWritable = mode != .readOnly
        super.init(identifier: file, kind: .file, parent: nil, filePath: path, path: "/")
        closeOnExec()
    }

    /// libhdf5 opens without O_CLOEXEC: a child process started meanwhile (pip, a test's child) would
    /// inherit the descriptor and with it the file's flock, so this process could not open the file
    /// again, and the file would stay busy after its close here.
    private func closeOnExec() {
        var handle: UnsafeMutableRawPointer?
        guard H5Fget_vfd_handle(identifier, h5p_default(), &handle) >= 0, let handle else { return }
        let descriptor = handle.load(as: Int32.self)
        _ = fcntl(descriptor, F_SETFD, fcntl(descriptor, F_GETFD) | FD_CLOEXEC)
    }

    deinit {
        if isOpen { try? close() }
    }

    /// Whether the file was opened for writing (a close must then flush what libhdf5 buffers).
    private let isWritable: Bool

    /// Writes buffered data to disk without closing.
    public func flush() throws {
        try requireOpen("flush")
        try check(H5Fflush(identifier, H5F_SCOPE_GLOBAL), "flush")
    }

    /// Flushes, then closes the file and every object opened from it. When the flush fails (a
    /// full disk), the file is discarded instead (see `discard()`) and the flush's error thrown:
    /// a failed H5Fclose would free the file's datasets yet leave their identifiers valid, and
    /// closing those later (or libhdf5's own clean-up at exit) crashes in the library.
    override public func close() throws {
        guard isOpen else { return }
        silenceHDF5ErrorPrinting()
        if isWritable, H5Fflush(identifier, H5F_SCOPE_GLOBAL) < 0 {
            let error = HDF5Error(file: filePath, object: path, operation: "flush before close",
                                  detail: hdf5ErrorStackDescription())
            discard()
            throw error
        }
        try super.close()
    }

    /// Closes a file whose contents will be deleted, even when its writes fail: the library's
    /// descriptor is pointed at /dev/null first, so what libhdf5 still buffers goes nowhere and the
    /// close always completes (releasing every identifier of the file). The file on disk is left
    /// incomplete; the caller removes it. Assumes the default (sec2) driver, whose handle is an fd.
    public func discard() {
        guard isOpen else { return }
        silenceHDF5ErrorPrinting()
        isOpen = false
        var handle: UnsafeMutableRawPointer?
        if H5Fget_vfd_handle(identifier, h5p_default(), &handle) >= 0, let handle {
            redirectToNullDevice(handle.load(as: Int32.self))
        }
        closeOpenObjects()
        // Should the close still fail (a flush that failed earlier can leave libhdf5's metadata
        // cache unable to flush again), the identifier is left alone for good: nothing here
        // closes it again, and libhdf5 does not sweep it at exit (`H5dont_atexit`).
        _ = releaseIdentifier()
    }

    /// Closes the datasets, groups, attributes and types still open in this file, each on its
    /// own (each close releases its identifier even if it fails), so that none is left dangling
    /// by a file close that fails half-way.
    private func closeOpenObjects() {
        let types = UInt32(H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE | H5F_OBJ_ATTR | H5F_OBJ_LOCAL)
        let count = H5Fget_obj_count(identifier, types)
        guard count > 0 else { return }
        var identifiers = [hid_t](repeating: 0, count: Int(count))
        let found = H5Fget_obj_ids(identifier, types, identifiers.count, &identifiers)
        for object in identifiers.prefix(max(0, Int(found))) {
            switch H5Iget_type(object) {
            case H5I_DATASET: _ = H5Dclose(object)
            case H5I_GROUP: _ = H5Gclose(object)
            case H5I_ATTR: _ = H5Aclose(object)
            case H5I_DATATYPE: _ = H5Tclose(object)
            default: break
            }
        }
    }
}

/// Points `descriptor` at /dev/null (writes succeed and vanish, reads see end of file).
private func redirectToNullDevice(_ descriptor: Int32) {
    let sink = open("/dev/null", O_RDWR | O_CLOEXEC)
    guard sink >= 0 else { return }
    _ = dup2(sink, descriptor)
    close(sink)
}
