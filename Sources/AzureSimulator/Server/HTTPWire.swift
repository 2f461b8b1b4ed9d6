internal import CAuditZlib
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Request parsing helpers and response encoding.
enum Wire {
    /// RFC 9110 `tchar`.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return Array("!#$%&'*+-.^_`|~".utf8).contains(b)
        }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }

    static func setReceiveTimeout(_ fd: Int32, seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Writes everything; false when the peer is gone. Never raises SIGPIPE.
    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return send(fd, base + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// The response head and (possibly gzipped) body for `response`; the body is empty for HEAD.
    static func encode(_ response: SimResponse, for request: RequestHead, close: Bool) -> (head: [UInt8], body: [UInt8]) {
        // Handler-supplied text goes on the wire as is, except for line breaks (framing).
        let headers = response.headers.map { (name: clean($0.name), value: clean($0.value)) }
        func has(_ name: String) -> Bool { headers.contains { $0.name.lowercased() == name } }
        let noBody = (100..<200).contains(response.status) || response.status == 204 || response.status == 304
        var body = noBody ? [] : response.body
        var extra: [(String, String)] = []
        if !noBody, body.count > 1024, request.acceptsGzip, !has("content-encoding"), !has("content-length"), let gz = gzip(body) {
            body = gz
            extra.append(("Content-Encoding", "gzip"))
            if !has("vary") { extra.append(("Vary", "Accept-Encoding")) }
        }
        if !noBody, !has("content-length"), !has("transfer-encoding") { extra.append(("Content-Length", "\(body.count)")) }
        if !has("date") { extra.append(("Date", httpDate(Date()))) }
        if close, !has("connection") { extra.append(("Connection", "close")) }

        var text = "HTTP/1.1 \(response.status) \(clean(response.reason ?? reasonPhrase(response.status)))\r\n"
        for (name, value) in headers + extra { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return (Array(text.utf8), request.method.uppercased() == "HEAD" ? [] : body)
    }

    /// A short plain-text answer for a request that could not be parsed; always closes.
    static func errorResponse(_ error: WireError) -> [UInt8] {
        let body = error.message + "\n"
        return Array(
            ("HTTP/1.1 \(error.status) \(reasonPhrase(error.status))\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\nDate: \(httpDate(Date()))\r\n\r\n" + body).utf8)
    }

    private static func clean(_ s: String) -> String {
        s.contains(where: { $0 == "\r" || $0 == "\n" }) ? s.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ") : s
    }

    /// RFC 9110 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
    static func httpDate(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var tm = tm()
        gmtime_r(&t, &tm)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[Int(tm.tm_wday) % 7]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon) % 12]) \(tm.tm_year + 1900) "
            + "\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
    }

    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: return "Continue"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 206: return "Partial Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 304: return "Not Modified"
        case 307: return "Temporary Redirect"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 409: return "Conflict"
        case 412: return "Precondition Failed"
        case 413: return "Content Too Large"
        case 416: return "Range Not Satisfiable"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 504: return "Gateway Timeout"
        default: return "Status \(status)"
        }
    }

    /// Percent-decodes; an invalid escape is kept as is.
    static func percentDecoded(_ s: Substring) -> String {
        guard s.contains("%") else { return String(s) }
        let bytes = Array(s.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count, let hi = hex(bytes[i + 1]), let lo = hex(bytes[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    /// One gzip member of `input` (zlib, default level); nil if zlib fails.
    static func gzip(_ input: [UInt8]) -> [UInt8]? {
        // zlib keeps the stream's address in its state: the stream lives on the heap, at one
        // address, for the whole compression (style.md §2.3-8).
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            stream.deinitialize(count: 1)
            stream.deallocate()
        }
        guard audit_deflateInit2(stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, MAX_WBITS + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK else { return nil }
        defer { deflateEnd(stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(stream, uLong(input.count))) + 64)
        var source = input
        let rc = source.withUnsafeMutableBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                stream.pointee.next_in = src.baseAddress
                stream.pointee.avail_in = uInt(src.count)
                stream.pointee.next_out = dst.baseAddress
                stream.pointee.avail_out = uInt(dst.count)
                let rc = deflate(stream, Z_FINISH)
                // No pointer into these buffers outlives the closures.
                stream.pointee.next_in = nil
                stream.pointee.next_out = nil
                return rc
            }
        }
        guard rc == Z_STREAM_END else { return nil }
        output.removeLast(Int(stream.pointee.avail_out))
        return output
    }
}
