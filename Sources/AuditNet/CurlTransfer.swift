internal import CAuditCurl
import Foundation

// MARK: - URL

/// A URL parsed by libcurl's own URL parser, so the scheme and host that ``CurlHTTPClient``
/// checks are exactly the ones libcurl will connect to (no parser differential); the same
/// handle is then given to the transfer with `CURLOPT_CURLU`.
///
/// Related libcurl documentation: <https://curl.se/libcurl/c/curl_url_get.html>
final class CurlURL {
    let handle: OpaquePointer
    /// Lower-cased scheme (`https`).
    let scheme: String
    /// The host as libcurl will resolve it: IPv6 without brackets or zone, IPv4 normalised.
    let host: String

    /// Fails with libcurl's reason (`Malformed input to a URL function`, `Port number was not a
    /// decimal number between 0 and 65535`, …) when the text is not an absolute URL.
    init(_ text: String) throws(HTTPError) {
        guard let u = curl_url() else {
            throw .transport(url: HTTPRequest.display(text), message: "out of memory parsing the URL", attempts: 0)
        }
        // A literal space (an OData `$filter` written by hand) is never valid in a URL: send it
        // as %20 (libcurl's own CURLU_URLENCODE would write `+` in the query, which not every
        // Azure service reads as a space). Any scheme parses (CURLU_NON_SUPPORT_SCHEME) so that
        // `ftp://` is refused as insecure, not as malformed.
        let spaced = text.contains(" ") ? text.replacingOccurrences(of: " ", with: "%20") : text
        let rc = curl_url_set(u, CURLUPART_URL, spaced, UInt32(CURLU_NON_SUPPORT_SCHEME))
        guard rc == CURLUE_OK, let scheme = Self.part(u, CURLUPART_SCHEME), let host = Self.part(u, CURLUPART_HOST) else {
            let reason = rc == CURLUE_OK ? "no host" : String(cString: curl_url_strerror(rc))
            curl_url_cleanup(u)
            throw .transport(url: HTTPRequest.display(text), message: "malformed URL (\(reason))", attempts: 0)
        }
        handle = u
        self.scheme = scheme.lowercased()
        var h = host
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        if let zone = h.firstIndex(of: "%") { h = String(h[..<zone]) }
        self.host = h
    }

    deinit { curl_url_cleanup(handle) }

    private static func part(_ u: OpaquePointer, _ what: CURLUPart) -> String? {
        var p: UnsafeMutablePointer<CChar>?
        guard curl_url_get(u, what, &p, 0) == CURLUE_OK, let p else { return nil }
        defer { curl_free(p) }
        return String(cString: p)
    }

    /// `localhost`, 127.0.0.0/8, `::1` and IPv4-mapped `::ffff:127.x.y.z`.
    var isLoopback: Bool {
        var name = host.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        if name == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, name, &v6) == 1 {
            let b = withUnsafeBytes(of: &v6) { Array($0) }
            if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return true }
            return b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF && b[12] == 127
        }
        return false
    }
}

// MARK: - Easy handle

/// What one attempt produced.
enum AttemptOutcome {
    case response(status: Int, headers: [String: String], body: [UInt8])
    /// `code` is the `CURLcode`; `detail` is libcurl's error-buffer text (may be empty).
    case failure(code: Int, detail: String, tooLarge: Bool)
}

/// One libcurl easy handle and its error buffer.
///
/// `@unchecked Sendable` because it crosses threads only through ``CurlHTTPClient``'s idle
/// pool (a `Mutex`): a handle is either in the pool or owned by exactly one `send` call, so
/// libcurl's rule "never use one easy handle from two threads at once" holds. Reusing a handle
/// keeps its connection, DNS and TLS-session caches (`curl_easy_reset` keeps them).
final class CurlEasy: @unchecked Sendable {
    private let handle: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>

    init?() {
        guard let h = curl_easy_init() else { return nil }
        handle = h
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    /// Drops every option (and with it any pointer to a `CurlURL` or sink) but keeps the caches.
    func reset() { curl_easy_reset(handle) }

    /// Runs one attempt. Blocks the calling thread for up to the total timeout.
    func perform(_ request: HTTPRequest, url: CurlURL, options: HTTPClientOptions, bypassProxy: Bool = false) -> AttemptOutcome {
        curl_easy_reset(handle)
        errorBuffer[0] = 0
        let sink = TransferSink(limit: options.maxResponseBytes)
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }

        var setup = CURLE_OK
        func ok(_ rc: CURLcode) { if setup == CURLE_OK { setup = rc } }
        let h = handle

        ok(audit_curl_setopt_pointer(h, CURLOPT_CURLU, UnsafeMutableRawPointer(url.handle)))
        ok(audit_curl_setopt_string(h, CURLOPT_PROTOCOLS_STR, "http,https"))
        ok(audit_curl_setopt_pointer(h, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer)))
        // Required in threaded programs: no SIGALRM-based DNS timeouts.
        ok(audit_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1))
        ok(audit_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(options.connectTimeout)))
        ok(audit_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, Self.milliseconds(request.timeout ?? options.totalTimeout)))
        ok(audit_curl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1))
        ok(audit_curl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2))
        if let ca = options.caBundle { ok(audit_curl_setopt_string(h, CURLOPT_CAINFO, ca)) }
        // "" = offer every encoding this libcurl can decode (gzip, deflate, …) and decode it.
        ok(audit_curl_setopt_string(h, CURLOPT_ACCEPT_ENCODING, ""))
        // Redirects are returned to the caller (3xx), never followed: a redirect could carry
        // the Authorization header to another host.
        ok(audit_curl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0))
        ok(audit_curl_setopt_string(h, CURLOPT_USERAGENT, options.userAgent))
        ok(audit_curl_setopt_off_t(h, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(options.maxResponseBytes)))
        // IMDS refuses proxied requests; every other request honours the proxy variables.
        if bypassProxy { ok(audit_curl_setopt_string(h, CURLOPT_NOPROXY, "*")) }

        for (name, value) in request.headers {
            // "Name;" is libcurl's spelling of a header with an empty value.
            let line = value.isEmpty ? "\(name);" : "\(name): \(value)"
            guard let next = curl_slist_append(headerList, line) else { ok(CURLE_OUT_OF_MEMORY); break }
            headerList = next
        }
        if !request.headers.contains(where: { $0.name.lowercased() == "expect" }) {
            // No `Expect: 100-continue` round trip before large bodies.
            if let next = curl_slist_append(headerList, "Expect:") { headerList = next }
        }
        if let headerList { ok(audit_curl_setopt_slist(h, CURLOPT_HTTPHEADER, headerList)) }

        let method = request.method.uppercased()
        switch method {
        case "GET" where request.body == nil:
            ok(audit_curl_setopt_long(h, CURLOPT_HTTPGET, 1))
        case "HEAD":
            ok(audit_curl_setopt_long(h, CURLOPT_NOBODY, 1))
        default:
            if method != "POST" { ok(audit_curl_setopt_string(h, CURLOPT_CUSTOMREQUEST, method)) }
            if request.body != nil || method == "POST" || method == "PUT" || method == "PATCH" {
                let body = request.body ?? []
                // The size first: COPYPOSTFIELDS copies that many bytes (binary safe).
                ok(audit_curl_setopt_off_t(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
                if body.isEmpty {
                    "".withCString { ok(audit_curl_setopt_pointer(h, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0))) }
                } else {
                    body.withUnsafeBytes { raw in
                        if let base = raw.baseAddress {
                            ok(audit_curl_setopt_pointer(h, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base)))
                        }
                    }
                }
            }
        }

        return withExtendedLifetime(sink) { () -> AttemptOutcome in
            // The sink reaches the callbacks only through this pointer; `withExtendedLifetime`
            // keeps it alive until curl_easy_perform has returned, and the handle is reset
            // before it is used again, so libcurl never sees a dangling pointer.
            let userdata = Unmanaged.passUnretained(sink).toOpaque()
            ok(audit_curl_setopt_write_callback(h, CURLOPT_WRITEFUNCTION) { buffer, size, count, userdata in
                let total = size * count
                guard let userdata else { return 0 }
                guard let buffer, total > 0 else { return total }
                let sink = Unmanaged<TransferSink>.fromOpaque(userdata).takeUnretainedValue()
                // Returning less than `total` aborts the transfer with CURLE_WRITE_ERROR.
                return sink.appendBody(UnsafeRawBufferPointer(start: buffer, count: total)) ? total : 0
            })
            ok(audit_curl_setopt_pointer(h, CURLOPT_WRITEDATA, userdata))
            ok(audit_curl_setopt_write_callback(h, CURLOPT_HEADERFUNCTION) { buffer, size, count, userdata in
                let total = size * count
                guard let userdata else { return 0 }
                guard let buffer, total > 0 else { return total }
                Unmanaged<TransferSink>.fromOpaque(userdata).takeUnretainedValue()
                    .headerLine(UnsafeRawBufferPointer(start: buffer, count: total))
                return total
            })
            ok(audit_curl_setopt_pointer(h, CURLOPT_HEADERDATA, userdata))

            guard setup == CURLE_OK else {
                return .failure(code: Int(setup.rawValue), detail: "setting up the request failed", tooLarge: false)
            }
            let code = curl_easy_perform(h)
            let tooLarge = sink.exceeded || code == CURLE_FILESIZE_EXCEEDED
            guard code == CURLE_OK, !tooLarge else {
                let detail = String(decoding: UnsafeRawBufferPointer(start: errorBuffer, count: strnlen(errorBuffer, Int(CURL_ERROR_SIZE))), as: UTF8.self)
                return .failure(code: Int(code.rawValue), detail: detail, tooLarge: tooLarge)
            }
            var status = 0
            _ = audit_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
            return .response(status: status, headers: sink.headers, body: sink.body)
        }
    }

    private static func milliseconds(_ seconds: Double) -> Int {
        guard seconds.isFinite, seconds > 0 else { return 0 }  // 0 = libcurl's default / no limit
        return Int(min(seconds, 86_400) * 1000)
    }

    /// libcurl's text for a `CURLcode` ("Couldn't connect to server").
    static func describe(code: Int) -> String {
        String(cString: curl_easy_strerror(CURLcode(UInt32(truncatingIfNeeded: code))))
    }
}

// MARK: - Callback state

/// Collects one attempt's body and headers; reached from libcurl's callbacks through the
/// userdata pointer only.
private final class TransferSink {
    let limit: Int
    var body: [UInt8] = []
    var headers: [String: String] = [:]
    var exceeded = false
    private var lastName: String?

    init(limit: Int) { self.limit = limit }

    func appendBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard body.count + bytes.count <= limit else {
            exceeded = true
            return false
        }
        body.append(contentsOf: bytes)
        return true
    }

    /// One header line as libcurl delivers it (CRLF included). A status line starts a new
    /// block: only the last block (after 100-continue or a proxy CONNECT) is kept.
    func headerLine(_ raw: UnsafeRawBufferPointer) {
        var bytes = raw[...]
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes = bytes.dropLast() }
        guard let first = bytes.first else { return }
        if bytes.starts(with: Array("HTTP/".utf8)) {
            headers = [:]
            lastName = nil
            return
        }
        if first == 0x20 || first == 0x09 {
            // obs-fold: a continuation of the previous header's value.
            if let lastName, let previous = headers[lastName] {
                headers[lastName] = previous + " " + String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            }
            return
        }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return }
        let name = String(decoding: bytes[..<colon], as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased()
        let value = String(decoding: bytes[(colon + 1)...], as: UTF8.self).trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { return }
        headers[name] = value
        lastName = name
    }
}
