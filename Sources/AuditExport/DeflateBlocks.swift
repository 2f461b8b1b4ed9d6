import AuditCore
import Foundation
internal import CAuditZlib

/// Compresses the blocks of a pigz-style gzip stream: each block is raw deflate primed with the
/// 32 KiB of input that precede it (`deflateSetDictionary`), ended by a sync flush (an empty
/// stored block, so the next block starts on a byte boundary) or, for the last block, by the
/// final deflate block. Concatenated in order, the blocks form one ordinary deflate stream.
///
/// The `z_stream` is on the heap at a stable address for its whole life and reused for every
/// block (`deflateReset`), so a worker allocates its ~270 KB of zlib state once.
/// `@unchecked Sendable`: handed to one worker thread at creation, used only there.
final class DeflateBlockCompressor: @unchecked Sendable {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var isActive = false

    init(level: Int32) throws(ExportError) {
        stream.initialize(to: z_stream())
        // Negative windowBits: raw deflate, no header or trailer (BlockWriter writes one of each).
        let rc = audit_deflateInit2(stream, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY)
        guard rc == Z_OK else { throw .zlib(code: rc, message: "deflateInit2 failed") }
        isActive = true
    }

    deinit {
        if isActive { deflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses `input` into `output` (grown when too small, never shrunk).
    /// - Parameters:
    ///   - dictionary: the bytes that precede `input` in the stream (at most the last 32 KiB
    ///     count); empty for the first block.
    ///   - last: finish the deflate stream (final block) instead of a sync flush.
    /// - Returns: the number of bytes of `output` filled.
    func compress(_ input: UnsafeBufferPointer<UInt8>, dictionary: UnsafeBufferPointer<UInt8>, last: Bool, into output: inout [UInt8]) throws(ExportError) -> Int {
        var rc = deflateReset(stream)
        guard rc == Z_OK else { throw .zlib(code: rc, message: "deflateReset failed") }
        if let d = dictionary.baseAddress, dictionary.count > 0 {
            rc = deflateSetDictionary(stream, d, UInt32(dictionary.count))
            guard rc == Z_OK else { throw .zlib(code: rc, message: "deflateSetDictionary failed") }
        }
        let flush = last ? Z_FINISH : Z_SYNC_FLUSH
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
        stream.pointee.avail_in = UInt32(input.count)
        defer {
            stream.pointee.next_in = nil
            stream.pointee.next_out = nil
        }
        var produced = 0
        while true {
            if produced == output.count {
                output.append(contentsOf: repeatElement(0, count: max(output.count, 1 << 16)))
            }
            output.withUnsafeMutableBufferPointer { o in
                stream.pointee.next_out = o.baseAddress! + produced
                stream.pointee.avail_out = UInt32(o.count - produced)
                rc = deflate(stream, flush)
                produced = o.count - Int(stream.pointee.avail_out)
            }
            guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else {
                throw .zlib(code: rc, message: stream.pointee.msg.map { String(cString: $0) } ?? "deflate failed")
            }
            if last {
                if rc == Z_STREAM_END { return produced }
            } else if stream.pointee.avail_out > 0 {
                // zlib: a flush is complete when deflate returns with output space left.
                return produced
            }
        }
    }
}

/// The gzip member header and trailer (RFC 1952 §2.3) around pigz-style deflate blocks.
enum GzipFraming {
    /// ID1 ID2, CM = 8 (deflate), no flags, MTIME 0, XFL as zlib sets it for `level`, OS = 3
    /// (Unix): the same 10 bytes zlib's own gzip wrapper writes.
    static func header(level: Int32) -> [UInt8] {
        [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, level == 9 ? 2 : (level < 2 ? 4 : 0), 3]
    }

    /// CRC-32 of the uncompressed data, then its length modulo 2^32, both little-endian.
    static func trailer(crc: UInt32, size: Int64) -> [UInt8] {
        let n = UInt32(truncatingIfNeeded: size)
        return [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: crc >> $0) } + [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: n >> $0) }
    }

    /// CRC-32 of `bytes` alone.
    static func crc(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        guard let p = bytes.baseAddress, !bytes.isEmpty else { return 0 }
        return UInt32(truncatingIfNeeded: crc32_z(0, p, bytes.count))
    }

    /// The CRC-32 of A followed by B, from the CRC of each and B's length.
    static func combine(_ a: UInt32, _ b: UInt32, lengthOfB: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: crc32_combine(uLong(a), uLong(b), .init(lengthOfB)))
    }
}
