import CHDF5
import Foundation

/// An open HDF5 object (file, group or dataset) that owns its identifier: `close()` releases it,
/// and `deinit` does so as a safety net. Each object keeps its parent alive, so a file is never
/// closed under its open groups and datasets by Swift's deinit order. Not thread-safe (nor is
/// serial libhdf5), hence not `Sendable`.
public class HDF5Object {
    enum Kind { case file, group, dataset }

    let identifier: hid_t
    let kind: Kind
    /// Keeps the parent object (and so the file) alive while this one is open.
    let parent: HDF5Object?
    /// The file's path on disk.
    public let filePath: String
    /// The object's path inside the file (`/` for the file's root group).
    public let path: String
    /// False once `close()` has run.
    public internal(set) var isOpen = true

    init(identifier: hid_t, kind: Kind, parent: HDF5Object?, filePath: String, path: String) {
        self.identifier = identifier
        self.kind = kind
        self.parent = parent
        self.filePath = filePath
        self.path = path
    }

    deinit {
        if isOpen { _ = releaseIdentifier() }
    }

    /// Releases the object. Closing a file closes every object opened from it (HDF5's "strong"
    /// close), so the file on disk is complete and can be reopened. Closing twice does nothing.
    public func close() throws {
        guard isOpen else { return }
        silenceHDF5ErrorPrinting()
        isOpen = false
        try hdf5Check(releaseIdentifier(), file: filePath, object: path, "close")
    }

    func releaseIdentifier() -> herr_t {
        // An object of a file that was closed first is already gone (strong close degree).
        guard H5Iis_valid(identifier) > 0 else { return 0 }
        switch kind {
        case .file: return H5Fclose(identifier)
        case .group: return H5Gclose(identifier)
        case .dataset: return H5Dclose(identifier)
        }
    }

    /// Throws unless the object is still open.
    func requireOpen(_ operation: @autoclosure () -> String) throws {
        silenceHDF5ErrorPrinting()
        guard isOpen else {
            throw HDF5Error(file: filePath, object: path, operation: operation(), detail: "the object was already closed")
        }
    }

    /// Checks a libhdf5 result on this object.
    @discardableResult
    func check<Result: BinaryInteger>(_ result: Result, _ operation: @autoclosure () -> String,
                                      object: String? = nil) throws -> Result {
        try hdf5Check(result, file: filePath, object: object ?? path, operation())
    }

    /// A usage error on this object (wrong type, out-of-range rows…), in the same error type.
    func failure(_ operation: String, _ detail: String, object: String? = nil) -> HDF5Error {
        HDF5Error(file: filePath, object: object ?? path, operation: operation, detail: detail)
    }

    /// The path of a member `name` of this object.
    func memberPath(_ name: String) -> String {
        path == "/" ? "/" + name : path + "/" + name
    }
}
