// Foundation's file errors print as "The operation could not be completed. (NSCocoaErrorDomain
// error 256.)" on Linux: no file, no cause, nothing a user can act on. The cause is usually in the
// error's code or its underlying POSIX error (errno); this turns both into a short phrase that the
// caller places after the file's path ("…/tokenizer.json: cannot read the file (it is a directory,
// expected a file)").

import Foundation

/// Plain-language reasons for failed file reads and writes.
public enum FileErrorReason {
    /// Why `error` happened, as a phrase without the path (the caller names the file). Understands
    /// `CocoaError`, `POSIXError` and any `NSError` whose underlying error is a POSIX one; other
    /// errors are described by their own text, cut to `Excerpt.limit` characters.
    public static func describe(_ error: any Error) -> String {
        if let code = posixCode(of: error) { return describe(posixCode: code) }
        let error = error as NSError
        if error.domain == NSCocoaErrorDomain { return cocoaReason(code: error.code) }
        return Excerpt.clip(String(describing: error))
    }

    /// The reason for the POSIX error number `code` (an `errno` value).
    public static func describe(posixCode code: Int32) -> String {
        switch code {
        case ENOENT: "no such file or directory"
        case EACCES, EPERM: "permission denied"
        case EISDIR: "it is a directory, expected a file"
        case ENOTDIR: "a part of the path is not a directory"
        case ENOSPC: "no space left on the device"
        case EDQUOT: "the disk quota is exceeded"
        case EROFS: "the file system is read-only"
        case EEXIST: "it already exists"
        case ENAMETOOLONG: "the file name is too long"
        case ELOOP: "too many levels of symbolic links"
        case EMFILE, ENFILE: "too many open files"
        case EIO: "input/output error (the device reported a fault)"
        case EFBIG: "the file is too large for the file system"
        case ENXIO, ENODEV: "no such device"
        case EBUSY, ETXTBSY: "the file is busy"
        case EINVAL: "the file does not support this operation"
        default: String(cString: strerror(code)).lowercased()
        }
    }

    /// Why `url` cannot be read as a file (missing, a directory, a FIFO, a device), or nil for a
    /// regular file; symbolic links are followed. Readers check first: Foundation refuses a FIFO or a
    /// device with a "permission" error that sends the user hunting for the wrong problem, and a plain
    /// open(2) of a FIFO would wait for a writer forever.
    public static func notARegularFile(_ url: URL) -> String? {
        var status = stat()
        guard stat(url.path, &status) == 0 else { return describe(posixCode: errno) }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "it is a directory, expected a file"
        case S_IFIFO: return "it is a FIFO (named pipe), expected a file"
        case S_IFCHR, S_IFBLK: return "it is a device, expected a file"
        default: return "it is a special file, expected a regular file"
        }
    }

    /// The errno behind `error`: its own code for a POSIX error, else its underlying POSIX error's.
    private static func posixCode(of error: any Error) -> Int32? {
        if let posix = error as? POSIXError { return posix.code.rawValue }
        let error = error as NSError
        if error.domain == NSPOSIXErrorDomain { return Int32(truncatingIfNeeded: error.code) }
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? any Error, !(underlying as NSError === error) {
            return posixCode(of: underlying)
        }
        return nil
    }

    private static func cocoaReason(code: Int) -> String {
        switch CocoaError.Code(rawValue: code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: "no such file or directory"
        case .fileReadNoPermission, .fileWriteNoPermission: "permission denied"
        case .fileReadInapplicableStringEncoding: "the contents are not valid UTF-8 text"
        case .fileReadCorruptFile: "the contents are not in the expected format (text must be UTF-8)"
        case .fileReadTooLarge: "the file is too large to read into memory"
        case .fileReadInvalidFileName, .fileWriteInvalidFileName: "the file name is not valid"
        case .fileReadUnsupportedScheme, .fileWriteUnsupportedScheme: "not a local file"
        case .fileWriteOutOfSpace: "no space left on the device"
        case .fileWriteVolumeReadOnly: "the file system is read-only"
        case .fileWriteFileExists: "it already exists"
        case .fileWriteInapplicableStringEncoding: "the text cannot be written in the requested encoding"
        case .fileLocking: "the file is locked"
        default: "the system gave no reason (Foundation file error \(code))"
        }
    }
}
