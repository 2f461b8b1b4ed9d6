import AuditExport
import CAuditZlib
import Foundation

/// The reference the block writer is measured against: one zlib gzip stream, single-threaded
/// (what `gzip -6` writes). Streams bytes through zlib's deflate into gzip format. The `z_stream` lives on the heap
/// at a stable address for its whole life, as zlib requires (style.md §2.3-8); memory is
/// constant whatever the input size.
final class GzipWriter {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var isActive = false
    private var out = [UInt8](repeating: 0, count: 1 << 16)
    /// Receives each compressed chunk.
    private let sink: ([UInt8]) throws -> Void

    /// - Parameters:
    ///   - level: 0–9 (6 is gzip's default).
    ///   - sink: called with every compressed chunk, in order.
    init(level: Int32 = 6, sink: @escaping ([UInt8]) throws -> Void) throws(ExportError) {
        self.sink = sink
        stream.initialize(to: z_stream())
        // windowBits 15 + 16 selects the gzip wrapper. Do not free on failure: deinit runs.
        let rc = audit_deflateInit2(stream, level, Z_DEFLATED, MAX_WBITS + 16, 8, Z_DEFAULT_STRATEGY)
        guard rc == Z_OK else { throw .zlib(code: rc, message: "deflateInit2 failed") }
        isActive = true
    }

    deinit {
        if isActive { deflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses `bytes`.
    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBufferPointer { try run($0, flush: Z_NO_FLUSH) }
    }

    func write(_ text: String) throws {
        var t = text
        try t.withUTF8 { try run($0, flush: Z_NO_FLUSH) }
    }

    /// Flushes everything and writes the gzip trailer; the writer is done afterwards.
    func finish() throws {
        try run(UnsafeBufferPointer(start: nil, count: 0), flush: Z_FINISH)
        deflateEnd(stream)
        isActive = false
    }

    private func run(_ input: UnsafeBufferPointer<UInt8>, flush: Int32) throws {
        guard isActive else { throw ExportError.zlib(code: Z_STREAM_ERROR, message: "writer already finished") }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
        stream.pointee.avail_in = UInt32(input.count)
        defer { stream.pointee.next_in = nil }
        while true {
            var rc: Int32 = Z_OK
            var produced = 0
            out.withUnsafeMutableBufferPointer { o in
                stream.pointee.next_out = o.baseAddress
                stream.pointee.avail_out = UInt32(o.count)
                rc = deflate(stream, flush)
                produced = o.count - Int(stream.pointee.avail_out)
                stream.pointee.next_out = nil
            }
            guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else {
                throw ExportError.zlib(code: rc, message: stream.pointee.msg.map { String(cString: $0) } ?? "deflate failed")
            }
            if produced > 0 { try sink(Array(out[0..<produced])) }
            if flush == Z_FINISH {
                if rc == Z_STREAM_END { return }
            } else if stream.pointee.avail_in == 0 && produced < out.count {
                return
            }
        }
    }
}
