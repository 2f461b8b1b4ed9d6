import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A request the connection cannot serve; answered with `status` and the connection closed.
struct WireError: Error {
    var status: Int
    var message: String
}

// MARK: - Request head

/// The request line and headers of one request.
struct RequestHead {
    var method: String
    var target: String
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    var minorVersion: Int
    /// Lower-cased names; repeated headers joined with ", ".
    var headers: [String: String]

    /// HTTP/1.1 keeps the connection unless told `close`; HTTP/1.0 only with `keep-alive`.
    var keepAlive: Bool {
        let tokens = Set((headers["connection"] ?? "").lowercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        return minorVersion >= 1 ? !tokens.contains("close") : tokens.contains("keep-alive")
    }

    var expectsContinue: Bool { headers["expect"]?.lowercased() == "100-continue" && minorVersion >= 1 }

    /// Whether the client accepts a gzip response (`gzip` or `x-gzip` without `q=0`).
    var acceptsGzip: Bool {
        guard let value = headers["accept-encoding"] else { return false }
        for item in value.lowercased().split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let coding = parts.first, coding == "gzip" || coding == "x-gzip" else { continue }
            let q = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return q > 0
        }
        return false
    }

    /// Path and query percent-decoded (`+` stays `+`; only form bodies use it for a space).
    func simRequest(body: [UInt8]) -> SimRequest {
        var t = Substring(target)
        // absolute-form (`http://host/path`), as sent to proxies.
        if let scheme = t.range(of: "://"), t[..<scheme.lowerBound].allSatisfy({ $0.isLetter }) {
            let rest = t[scheme.upperBound...]
            t = rest.firstIndex(where: { $0 == "/" || $0 == "?" }).map { rest[$0...] } ?? "/"
        }
        if let hash = t.firstIndex(of: "#") { t = t[..<hash] }
        var query: [String: String] = [:]
        if let q = t.firstIndex(of: "?") {
            for pair in t[t.index(after: q)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query[Wire.percentDecoded(kv[0])] = kv.count > 1 ? Wire.percentDecoded(kv[1]) : ""
            }
            t = t[..<q]
        }
        return SimRequest(method: method, path: Wire.percentDecoded(t), query: query, headers: headers, body: body)
    }
}

// MARK: - Reading

/// Buffered reads from a connection socket.
struct SocketReader {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0

    init(fd: Int32) { self.fd = fd }

    private var available: Int { buffer.count - start }

    /// Reads more bytes; false at end of stream, on error or on the idle timeout.
    private mutating func fill() -> Bool {
        if start > 64 * 1024 {
            buffer.removeFirst(start)
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
                return true
            }
            if n < 0 && errno == EINTR { continue }
            return false
        }
    }

    /// One line without its CRLF (a bare LF is accepted); nil at a clean end of stream.
    mutating func readLine(limit: Int) throws(WireError) -> [UInt8]? {
        var scanned = start
        while true {
            if let lf = buffer[scanned...].firstIndex(of: 0x0A) {
                var line = Array(buffer[start..<lf])
                if line.last == 0x0D { line.removeLast() }
                start = lf + 1
                return line
            }
            scanned = buffer.count
            if available > limit { throw WireError(status: 431, message: "header line too long") }
            guard fill() else {
                if available == 0 { return nil }
                throw WireError(status: 400, message: "connection closed mid-line")
            }
        }
    }

    /// Exactly `count` bytes.
    mutating func read(count: Int) throws(WireError) -> [UInt8] {
        while available < count {
            guard fill() else { throw WireError(status: 400, message: "connection closed mid-body") }
        }
        defer { start += count }
        return Array(buffer[start..<(start + count)])
    }

    /// The next request's line and headers; nil when the client closed between requests.
    mutating func readHead(limit: Int) throws(WireError) -> RequestHead? {
        // Bytes that cannot start a request (a TLS ClientHello, binary noise) get 400 at once
        // instead of waiting for a line feed that may never come.
        while available == 0 { guard fill() else { return nil } }
        guard Wire.isTokenByte(buffer[start]) || buffer[start] == 0x0D || buffer[start] == 0x0A else {
            throw WireError(status: 400, message: "not an HTTP request")
        }
        var used = 0
        var requestLine: [UInt8] = []
        repeat {  // RFC 9112 §2.2: ignore empty lines before the request line
            guard let line = try readLine(limit: limit - used) else { return nil }
            used += line.count + 2
            requestLine = line
        } while requestLine.isEmpty && used < limit
        let parts = requestLine.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(Wire.isTokenByte), !parts[1].isEmpty,
              parts[1].allSatisfy({ $0 > 0x20 && $0 != 0x7F })
        else { throw WireError(status: 400, message: "malformed request line") }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { throw WireError(status: 400, message: "unsupported HTTP version") }

        var headers: [String: String] = [:]
        while true {
            guard let line = try readLine(limit: limit - used) else { throw WireError(status: 400, message: "connection closed in headers") }
            used += line.count + 2
            if used > limit { throw WireError(status: 431, message: "request headers larger than \(limit) bytes") }
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0, line[..<colon].allSatisfy(Wire.isTokenByte) else {
                throw WireError(status: 400, message: "malformed header line")
            }
            let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            headers[name] = headers[name].map { "\($0), \(value)" } ?? value
        }
        return RequestHead(
            method: String(decoding: parts[0], as: UTF8.self), target: String(decoding: parts[1], as: UTF8.self),
            minorVersion: version == "HTTP/1.1" ? 1 : 0, headers: headers)
    }

    /// The body framed by `Transfer-Encoding: chunked` or `Content-Length` (none otherwise).
    mutating func readBody(_ head: RequestHead, limit: Int) throws(WireError) -> [UInt8] {
        if let te = head.headers["transfer-encoding"] {
            guard te.lowercased().split(separator: ",").last?.trimmingCharacters(in: .whitespaces) == "chunked" else {
                throw WireError(status: 400, message: "unsupported transfer coding")
            }
            return try readChunked(limit: limit)
        }
        guard let cl = head.headers["content-length"] else { return [] }
        // Repeated identical values ("5, 5") are allowed; anything else is an error.
        let values = Set(cl.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        guard values.count == 1, let text = values.first, !text.isEmpty, text.utf8.count <= 18,
              text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let length = Int(text)
        else { throw WireError(status: 400, message: "bad Content-Length") }
        guard length <= limit else { throw WireError(status: 413, message: "request body larger than \(limit) bytes") }
        return try read(count: length)
    }

    private mutating func readChunked(limit: Int) throws(WireError) -> [UInt8] {
        var body: [UInt8] = []
        while true {
            guard let line = try readLine(limit: 4096) else { throw WireError(status: 400, message: "connection closed in chunked body") }
            let sizeText = String(decoding: line.prefix { $0 != UInt8(ascii: ";") }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            guard !sizeText.isEmpty, sizeText.utf8.count <= 15, let size = Int(sizeText, radix: 16), size >= 0 else {
                throw WireError(status: 400, message: "bad chunk size")
            }
            if size == 0 {
                // Trailer fields, ignored, up to the empty line.
                var trailerBytes = 0
                while let trailer = try readLine(limit: 4096), !trailer.isEmpty {
                    trailerBytes += trailer.count
                    if trailerBytes > 64 * 1024 { throw WireError(status: 431, message: "trailers too large") }
                }
                return body
            }
            guard body.count + size <= limit else { throw WireError(status: 413, message: "request body larger than \(limit) bytes") }
            body += try read(count: size)
            guard let end = try readLine(limit: 4096), end.isEmpty else { throw WireError(status: 400, message: "chunk not followed by CRLF") }
        }
    }
}
