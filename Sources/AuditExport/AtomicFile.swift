import Crypto
import Foundation

/// A file written under a dot-prefixed temp name in its final folder, then published by an
/// atomic rename that never replaces an existing file.
///
/// The bytes written (after compression) are counted and hashed with SHA-256 as they go, so the
/// manifest needs no second read. `publish` fsyncs the file before the rename and the folder
/// after it: once it returns, the file survives a power cut under its final name
/// (<https://man7.org/linux/man-pages/man2/fsync.2.html>: "Calling fsync() does not necessarily
/// ensure that the entry in the directory containing the file has also reached disk. For that an
/// explicit fsync() on a file descriptor for the directory is also needed.").
///
/// Compression, hashing and disk writes run on `BlockWriter`'s worker threads, in parallel with
/// the query and the encoding of the next rows (the writing thread compresses a block itself
/// when the workers fall behind); a gzip file is one gzip member compressed in 1 MiB blocks on
/// several threads (see `BlockWriter` for the format and why every SIEM reader takes it).
/// Memory is bounded by the writer's fixed number of blocks.
public final class AtomicFile {
    public let directory: String
    public let finalName: String
    public let tempPath: String
    private let sink: Sink
    private let writer: BlockWriter
    /// Bytes on disk so far (complete after `finish`).
    public var bytes: Int64 { sink.bytes }
    private var finished = false

    /// The file descriptor, the hash and the byte count. `@unchecked Sendable`: written only by
    /// `BlockWriter`'s sink calls, which never overlap and happen before `finish` returns.
    private final class Sink: @unchecked Sendable {
        let path: String
        var fd: Int32
        var hasher = SHA256()
        var bytes: Int64 = 0

        init(path: String, fd: Int32) { self.path = path; self.fd = fd }

        func write(_ buf: UnsafeBufferPointer<UInt8>) throws {
            hasher.update(bufferPointer: UnsafeRawBufferPointer(buf))
            var offset = 0
            while offset < buf.count {
                let n = Foundation.write(fd, buf.baseAddress! + offset, buf.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ExportError.io(path: path, message: String(cString: strerror(errno)))
                }
                offset += n
            }
            bytes += Int64(buf.count)
        }
    }

    /// Creates the temp file (mode 0640, never an existing file).
    /// - Parameters:
    ///   - gzipLevel: compress through gzip at this level, or write plain bytes when nil.
    ///   - workers: compression threads besides the writing thread (`BlockWriter.defaultWorkers`:
    ///     one fewer than the cores, at least 1).
    ///   - blockSize: uncompressed bytes per block (tests make it small).
    public init(directory: String, finalName: String, gzipLevel: Int32?, workers: Int = BlockWriter.defaultWorkers,
                blockSize: Int = BlockWriter.defaultBlockSize) throws(ExportError) {
        self.directory = directory
        self.finalName = finalName
        let tempPath = (directory as NSString).appendingPathComponent(ExportNaming.tempName(for: finalName))
        self.tempPath = tempPath
        let fd = open(tempPath, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw .io(path: tempPath, message: String(cString: strerror(errno))) }
        fchmod(fd, 0o640)  // the umask may have taken bits away; exports are 0640 (contracts.md)
        let s = Sink(path: tempPath, fd: fd)
        sink = s
        do {
            writer = try BlockWriter(compression: gzipLevel.map { .gzip(level: $0) } ?? .none, workers: workers, blockSize: blockSize) { try s.write($0) }
        } catch {
            close(fd)
            unlink(tempPath)
            throw error
        }
    }

    deinit {
        writer.abandon()
        if sink.fd >= 0 { close(sink.fd) }
        if !finished { unlink(tempPath) }
    }

    /// Appends bytes (compressed when the file is gzip).
    public func write(bytes data: [UInt8]) throws {
        try writer.write(data)
    }

    /// Flushes the compressor and fsyncs the file; returns the SHA-256 (lower-case hex) of the bytes on disk.
    public func finish() throws -> String {
        try writer.finish()
        guard fsync(sink.fd) == 0 else { throw ExportError.io(path: tempPath, message: "fsync: " + String(cString: strerror(errno))) }
        close(sink.fd)
        sink.fd = -1
        return sink.hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Gives the finished file its final name without replacing anything, then fsyncs the folder.
    /// - Parameter replacing: replace a file of that name in one step (rename(2)) instead; only
    ///   for the `_SUCCESS` marker, never for data files or manifests.
    /// - Returns: the final path.
    @discardableResult
    public func publish(replacing: Bool = false) throws(ExportError) -> String {
        let finalPath = (directory as NSString).appendingPathComponent(finalName)
        if replacing {
            guard rename(tempPath, finalPath) == 0 else { throw .io(path: finalPath, message: String(cString: strerror(errno))) }
        } else if link(tempPath, finalPath) == 0 {
            // link(2) fails with EEXIST instead of replacing: nothing published is ever overwritten.
            unlink(tempPath)
        } else if errno == EEXIST {
            throw .io(path: finalPath, message: "the file exists already (nothing is overwritten)")
        } else {
            // Filesystems without hard links: check, then rename (single writer per folder).
            guard !FileManager.default.fileExists(atPath: finalPath) else {
                throw .io(path: finalPath, message: "the file exists already (nothing is overwritten)")
            }
            guard rename(tempPath, finalPath) == 0 else { throw .io(path: finalPath, message: String(cString: strerror(errno))) }
        }
        finished = true
        try Self.syncDirectory(directory)
        return finalPath
    }

    /// Removes the temp file (an empty or failed export).
    public func discard() {
        writer.abandon()
        if sink.fd >= 0 { close(sink.fd); sink.fd = -1 }
        unlink(tempPath)
        finished = true
    }

    /// fsyncs a folder so that renames and unlinks in it are durable.
    public static func syncDirectory(_ directory: String) throws(ExportError) {
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw .io(path: directory, message: String(cString: strerror(errno))) }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw .io(path: directory, message: "fsync: " + String(cString: strerror(errno))) }
    }

    /// Writes `text` to `directory/name` the same way (temp, fsync, rename, folder fsync).
    @discardableResult
    public static func writeWhole(_ text: String, directory: String, name: String, replacing: Bool = false) throws -> String {
        let f = try AtomicFile(directory: directory, finalName: name, gzipLevel: nil)
        try f.write(bytes: Array(text.utf8))
        _ = try f.finish()
        return try f.publish(replacing: replacing)
    }

    /// SHA-256 (hex) and size of an existing file, read in chunks.
    public static func sha256(ofFile path: String) throws(ExportError) -> (sha256: String, bytes: Int64) {
        guard let h = FileHandle(forReadingAtPath: path) else { throw .io(path: path, message: "cannot read") }
        defer { try? h.close() }
        var hasher = SHA256()
        var total: Int64 = 0
        while true {
            let data: Data
            do { data = try h.read(upToCount: 1 << 20) ?? Data() } catch { throw .io(path: path, message: "\(error)") }
            if data.isEmpty { break }
            hasher.update(data: data)
            total += Int64(data.count)
        }
        return (hasher.finalize().map { String(format: "%02x", $0) }.joined(), total)
    }
}
