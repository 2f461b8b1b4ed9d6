import Glibc
internal import CAuditZlib

/// Errors while reading input files.
public enum InputError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case readFailed(path: String, reason: String)
    /// The gzip stream is corrupt or ends early; everything before `offset` was delivered.
    case badGzip(path: String, offset: Int64, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot open \(path): \(reason)"
        case .readFailed(let path, let reason): return "cannot read \(path): \(reason)"
        case .badGzip(let path, let offset, let reason): return "\(path): gzip data is damaged after \(offset) bytes (\(reason)); the records before that point were read"
        }
    }
}

/// Reads a file as a stream of byte chunks, inflating gzip transparently (detected by magic
/// bytes, multi-member streams included). Memory use is bounded by the chunk size.
public final class ChunkReader {
    public let path: String
    private let fd: Int32
    private var raw: [UInt8]
    private var rawStart = 0
    private var rawEnd = 0
    private var eof = false
    private var inflater: Inflater?
    private var closed = false
    public private(set) var isGzip = false
    /// Bytes delivered so far (decompressed).
    public private(set) var delivered: Int64 = 0
    /// Bytes of the file consumed so far (compressed).
    public private(set) var consumed: Int64 = 0
    private let chunkSize: Int

    public init(path: String, chunkSize: Int = 1 << 20) throws(InputError) {
        self.path = path
        self.chunkSize = chunkSize
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        self.fd = fd
        // Size the buffer to the file: thousands of small PT1H.json blobs must not each cost a
        // full chunk of zeroed memory.
        var st = stat()
        let size = fstat(fd, &st) == 0 ? Int(st.st_size) : chunkSize
        raw = Self.uninitialized(max(16, min(chunkSize, size + 1)))
        try fill()
        if rawEnd - rawStart >= 2, raw[rawStart] == 0x1F, raw[rawStart + 1] == 0x8B {
            isGzip = true
            inflater = try Inflater(path: path)
        }
    }

    deinit { if !closed { close(fd) } }

    static func uninitialized(_ n: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: n) { _, count in count = n }
    }

    private func fill() throws(InputError) {
        if rawStart > 0 {
            let n = rawEnd - rawStart
            if n > 0 { raw.withUnsafeMutableBufferPointer { b in _ = memmove(b.baseAddress!, b.baseAddress! + rawStart, n) } }
            rawEnd = n
            rawStart = 0
        }
        while !eof && rawEnd < raw.count {
            let got = raw.withUnsafeMutableBufferPointer { b in read(fd, b.baseAddress! + rawEnd, b.count - rawEnd) }
            if got < 0 {
                if errno == EINTR { continue }
                throw .readFailed(path: path, reason: String(cString: strerror(errno)))
            }
            if got == 0 { eof = true; break }
            rawEnd += got
        }
    }

    /// The next chunk, or nil at the end of the input.
    public func next() throws(InputError) -> [UInt8]? {
        if let inflater {
            while true {
                if rawStart == rawEnd {
                    if eof {
                        if inflater.midStream { throw .badGzip(path: path, offset: delivered, reason: "unexpected end of file") }
                        return nil
                    }
                    try fill()
                    continue
                }
                if !inflater.midStream && raw[rawStart] != 0x1F {
                    // Bytes after a complete gzip member that are not another member (zero
                    // padding from some writers): the stream is over.
                    return nil
                }
                let (out, used) = try inflater.inflate(raw, from: rawStart, to: rawEnd, outCapacity: chunkSize, delivered: delivered)
                rawStart += used
                consumed += Int64(used)
                if !out.isEmpty { delivered += Int64(out.count); return out }
                if used == 0 && !eof { try fill() }
                if used == 0 && eof && rawStart == rawEnd { continue }
                if used == 0 && eof {
                    // Trailing garbage after a complete member (e.g. zero padding) ends the stream.
                    if !inflater.midStream { return nil }
                    throw .badGzip(path: path, offset: delivered, reason: "unexpected end of file")
                }
            }
        }
        if rawStart == rawEnd {
            if eof { return nil }
            try fill()
            if rawStart == rawEnd { return nil }
        }
        var chunk = raw
        if rawStart > 0 || rawEnd < chunk.count { chunk = Array(raw[rawStart..<rawEnd]) } else { raw = Self.uninitialized(raw.count) }
        consumed += Int64(chunk.count)
        delivered += Int64(chunk.count)
        rawStart = 0
        rawEnd = 0
        return chunk
    }

    /// Size of the file on disk.
    public var fileSize: Int64 {
        var st = stat()
        return fstat(fd, &st) == 0 ? Int64(st.st_size) : 0
    }
}

/// A zlib inflate stream for gzip members. The `z_stream` lives on the heap at a stable
/// address for its whole life, as zlib requires (style.md §2.3-8).
final class Inflater {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var isActive = false
    private let path: String
    /// True between the first byte of a member and its end.
    private(set) var midStream = false

    init(path: String) throws(InputError) {
        self.path = path
        stream.initialize(to: z_stream())
        let rc = audit_inflateInit2(stream, MAX_WBITS + 16)
        guard rc == Z_OK else { throw .badGzip(path: path, offset: 0, reason: "inflateInit2 failed (\(rc))") }
        isActive = true
    }

    deinit {
        if isActive { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Inflates from `input[from..<to]`; returns the output and how many input bytes were used.
    func inflate(_ input: [UInt8], from: Int, to: Int, outCapacity: Int, delivered: Int64) throws(InputError) -> ([UInt8], Int) {
        var out = ChunkReader.uninitialized(outCapacity)
        var produced = 0
        var used = 0
        var rc: Int32 = Z_OK
        input.withUnsafeBufferPointer { inBuf in
            out.withUnsafeMutableBufferPointer { outBuf in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress! + from)
                stream.pointee.avail_in = UInt32(to - from)
                stream.pointee.next_out = outBuf.baseAddress!
                stream.pointee.avail_out = UInt32(outCapacity)
                if stream.pointee.avail_in > 0 { midStream = true }
                rc = CAuditZlib.inflate(stream, Z_NO_FLUSH)
                used = (to - from) - Int(stream.pointee.avail_in)
                produced = outCapacity - Int(stream.pointee.avail_out)
                stream.pointee.next_in = nil
                stream.pointee.next_out = nil
            }
        }
        switch rc {
        case Z_OK, Z_BUF_ERROR:
            break
        case Z_STREAM_END:
            // Another gzip member may follow (concatenated .gz files are valid gzip).
            midStream = false
            inflateReset(stream)
        default:
            let msg = stream.pointee.msg.map { String(cString: $0) } ?? "error \(rc)"
            throw .badGzip(path: path, offset: delivered + Int64(produced), reason: msg)
        }
        out.removeSubrange(produced...)
        return (out, used)
    }
}
