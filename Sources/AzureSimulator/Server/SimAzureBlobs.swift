import AuditCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One append blob: in memory (`bytes`), or file-backed (`file`: only the path and size are
/// kept, and each Get Blob reads its range from the file, outside the simulator's lock).
struct SimBlob: Sendable {
    /// The content of an in-memory blob; empty for a file-backed one.
    var bytes: [UInt8]
    /// Unquoted, `0x8D…` (the `ETag` header quotes it).
    var etag: String
    var created: Int64
    var modified: Int64
    /// Appended blocks (`x-ms-blob-committed-block-count`).
    var blocks: Int
    /// A file-backed blob: the file that holds its content (read, never written) and its size
    /// when loaded. A mutation (append) turns the blob into an in-memory one first.
    var file: (path: String, size: Int)? = nil

    /// Content length in bytes.
    var size: Int { file?.size ?? bytes.count }
}

/// A byte range of a file-backed blob that the response body must be filled with: `SimAzure`
/// reads it with `pread` after releasing its lock (large GETs never hold the lock for I/O).
struct SimFileRead: Sendable {
    var path: String
    var offset: Int
    var count: Int

    /// The bytes, or nil when the file is gone or shorter than when it was loaded.
    func read() -> [UInt8]? { SimFileRead.read(path, offset: offset, count: count) }

    /// `count` bytes at `offset` of `path` (`pread`, no per-byte work); nil on a short read.
    static func read(_ path: String, offset: Int, count: Int) -> [UInt8]? {
        if count == 0 { return [] }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var done = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard let base = buffer.baseAddress else { return }
            while done < count {
                let n = pread(fd, base + done, count - done, off_t(offset + done))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                done += n
            }
            initialized = done
        }
        return done == count ? bytes : nil
    }
}

/// The Blob service for diagnostic-settings exports (formats.md §10, §17): List Blobs with
/// `prefix`/`delimiter`/`marker`/`maxresults`, Get Blob with `Range`/`x-ms-range` (206, 416),
/// HEAD, `If-Match`, error XML with a BOM, SAS and bearer auth, and the fault knobs.
///
/// Addressing is path-style (`/{storageAccount}/{container}/{blob}`, as Azurite), any storage
/// account name is accepted and all share the containers.
extension SimAzureState {
    static let requestResponseContainer = "insights-logs-requestresponse"
    static let activityContainer = "insights-activity-logs"
    static let storageAudiences = ["https://storage.azure.com"]
    static let serviceVersion = "2023-11-03"
    static let blobContentType = "application/octet-stream"

    mutating func handleBlob(_ request: SimRequest) -> SimResponse {
        // /{account}/{container}[/{blob…}] — the blob name keeps every byte after the container.
        let path = request.path.hasPrefix("/") ? String(request.path.dropFirst()) : request.path
        let parts = path.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            return blobError(400, "InvalidUri", "The requested URI does not represent any resource on the server.", request: request)
        }
        let account = parts[0]
        let container = parts[1].lowercased()
        let blobName = parts.count == 3 ? parts[2] : ""
        let isHead = request.method == "HEAD"
        guard request.method == "GET" || isHead else {
            return blobError(
                405, "UnsupportedHttpVerb", "The resource doesn't support specified Http Verb.", request: request, head: isHead)
        }
        let isList = blobName.isEmpty
        if isList, SimFormat.query(request, "restype") != "container" || SimFormat.query(request, "comp") != "list" {
            return blobError(
                400, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid.",
                request: request, head: isHead)
        }
        if let denied = blobAuthorize(request, account: account, container: container, permission: isList ? "l" : "r") {
            return denied
        }
        guard let blobs = containers[container] else {
            return blobError(404, "ContainerNotFound", "The specified container does not exist.", request: request, head: isHead)
        }
        if isList { return listBlobs(request, account: account, container: container, blobs: blobs) }
        guard let blob = blobs[blobName] else {
            return blobError(404, "BlobNotFound", "The specified blob does not exist.", request: request, head: isHead)
        }
        if isHead {
            var r = SimResponse(status: 200, reason: "OK")
            r.headers = blobHeaders(blob, request: request) + [("Content-Length", String(blob.size))]
            return r
        }
        return getBlob(request, blob: blob)
    }

    // MARK: - Auth

    /// nil when the request may read (`permission` `r`) or list (`l`); otherwise the error.
    func blobAuthorize(_ request: SimRequest, account: String, container: String, permission: Character) -> SimResponse? {
        let head = request.method == "HEAD"
        let version = request[header: "x-ms-version"]
        if let version, !Self.isServiceVersion(version) {
            return blobError(
                400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format.", request: request,
                head: head, extra: "<HeaderName>x-ms-version</HeaderName><HeaderValue>\(SimFormat.xmlEscape(version))</HeaderValue>")
        }
        let authFailed = "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature."
        if let sig = SimFormat.query(request, "sig") {
            let sp = SimFormat.query(request, "sp") ?? ""
            let se = SimFormat.query(request, "se") ?? ""
            let st = SimFormat.query(request, "st") ?? ""
            guard let sv = SimFormat.query(request, "sv"), !sv.isEmpty else {
                return blobError(
                    403, "AuthenticationFailed", authFailed, request: request, head: head,
                    detail: "sv is mandatory. Cannot be empty")
            }
            guard sig == options.sasSignature else {
                let toSign = "\(sp)\n\(st)\n\(se)\n/blob/\(account)/\(container)\n\n\n\(SimFormat.query(request, "spr") ?? "")\n\(sv)"
                return blobError(
                    403, "AuthenticationFailed", authFailed, request: request, head: head,
                    detail: "Signature did not match. String to sign used was \(toSign)")
            }
            guard let expiry = Timestamp.parse(se) else {
                return blobError(
                    403, "AuthenticationFailed", authFailed, request: request, head: head,
                    detail: "se is mandatory. Cannot be empty")
            }
            let start = Timestamp.parse(st)
            if now > expiry || (start.map { now < $0 } ?? false) {
                return blobError(
                    403, "AuthenticationFailed", authFailed, request: request, head: head,
                    detail: "Signature not valid in the specified time frame: Start [\(start.map(SimFormat.rfc1123) ?? "")] - Expiry [\(SimFormat.rfc1123(expiry))] - Current [\(SimFormat.rfc1123(now))]")
            }
            guard sp.contains(permission) else {
                return blobError(
                    403, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission.",
                    request: request, head: head)
            }
            return nil
        }
        guard request[header: "authorization"] != nil else {
            var r = blobError(
                401, "NoAuthenticationInformation",
                "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.", request: request,
                head: head)
            r.headers.append(("WWW-Authenticate", storageChallenge))
            return r
        }
        guard bearerToken(request) != nil else {
            return blobError(
                403, "AuthenticationFailed", authFailed, request: request, head: head,
                detail: "The simulator accepts bearer tokens and SAS only.")
        }
        guard let version else {
            return blobError(
                400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified.", request: request,
                head: head, extra: "<HeaderName>x-ms-version</HeaderName>")
        }
        if version < "2017-11-09" {
            return blobError(
                400, "InvalidAuthenticationInfo", "Authentication scheme Bearer is not supported in this version.", request: request, head: head)
        }
        switch authenticate(request, audiences: Self.storageAudiences, exact: false) {
        case .success(let token):
            if options.blobForbiddenPrincipals.contains(where: { $0.caseInsensitiveEquals(token.objectID) }) {
                return blobError(
                    403, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission.",
                    request: request, head: head)
            }
            return nil
        case .failure(let failure):
            let detail: String
            switch failure {
            case .expired: detail = "Lifetime validation failed. The token is expired."
            case .wrongAudience: detail = "Audience validation failed. Audience did not match."
            default: detail = "Signature validation failed. Signature is invalid."
            }
            var r = blobError(
                401, "InvalidAuthenticationInfo",
                "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.", request: request,
                head: head, detail: detail)
            r.headers.append(("WWW-Authenticate", storageChallenge))
            return r
        }
    }

    var storageChallenge: String {
        "Bearer authorization_uri=https://login.microsoftonline.com/\(options.tenant)/oauth2/authorize resource_id=https://storage.azure.com"
    }

    /// `YYYY-MM-DD` between the first and the newest service version.
    static func isServiceVersion(_ v: String) -> Bool {
        let b = Array(v.utf8)
        guard b.count == 10, b[4] == 0x2D, b[7] == 0x2D else { return false }
        return v >= "2009-09-19" && v <= "2026-06-06" && b.enumerated().allSatisfy { $0.offset == 4 || $0.offset == 7 || (0x30...0x39).contains($0.element) }
    }

    // MARK: - List Blobs

    func listBlobs(_ request: SimRequest, account: String, container: String, blobs: [String: SimBlob]) -> SimResponse {
        let prefix = SimFormat.query(request, "prefix") ?? ""
        let delimiter = SimFormat.query(request, "delimiter").flatMap { $0.isEmpty ? nil : $0 }
        let markerText = SimFormat.query(request, "marker").flatMap { $0.isEmpty ? nil : $0 }
        var maxResults = 5000
        if let m = SimFormat.query(request, "maxresults") {
            guard let n = Int(m), n > 0 else {
                return blobError(
                    400, "OutOfRangeQueryParameterValue", "One of the query parameters specified in the request URI is outside the permissible range.",
                    request: request, extra: "<QueryParameterName>maxresults</QueryParameterName><QueryParameterValue>\(SimFormat.xmlEscape(m))</QueryParameterValue>")
            }
            maxResults = min(n, 5000)
        }
        var marker: String?
        if let markerText {
            guard let m = Self.decodeMarker(markerText) else {
                return blobError(
                    400, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid.",
                    request: request, extra: "<QueryParameterName>marker</QueryParameterName><QueryParameterValue>\(SimFormat.xmlEscape(markerText))</QueryParameterValue>")
            }
            marker = m
        }
        let names = blobs.keys.filter { name in name.hasPrefix(prefix) && (marker.map { !name.utf8.lexicographicallyPrecedes($0.utf8) } ?? true) }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }

        var items = ""
        var count = 0
        var lastPrefix: String?
        var nextMarker: String?
        for name in names {
            var itemPrefix: String?
            if let delimiter {
                let rest = name.dropFirst(prefix.count)
                if let r = rest.range(of: delimiter) { itemPrefix = prefix + String(rest[..<r.upperBound]) }
            }
            if let p = itemPrefix, p == lastPrefix { continue }
            if count == maxResults {
                nextMarker = name
                break
            }
            if let p = itemPrefix {
                items += "<BlobPrefix><Name>\(SimFormat.xmlEscape(p))</Name></BlobPrefix>"
                lastPrefix = p
            } else if let blob = blobs[name] {
                items += "<Blob><Name>\(SimFormat.xmlEscape(name))</Name><Properties>"
                    + "<Creation-Time>\(SimFormat.rfc1123(blob.created))</Creation-Time><Last-Modified>\(SimFormat.rfc1123(blob.modified))</Last-Modified>"
                    + "<Etag>\(blob.etag)</Etag><Content-Length>\(blob.size)</Content-Length><Content-Type>\(Self.blobContentType)</Content-Type>"
                    + "<Content-Encoding /><Content-Language /><Content-CRC64 /><Content-MD5 /><Cache-Control /><Content-Disposition />"
                    + "<BlobType>AppendBlob</BlobType><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState>"
                    + "<ServerEncrypted>true</ServerEncrypted></Properties><OrMetadata /></Blob>"
            }
            count += 1
        }
        let host = request[header: "host"] ?? "127.0.0.1"
        var xml = #"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://\#(SimFormat.xmlEscape(host))/\#(SimFormat.xmlEscape(account))/" ContainerName="\#(SimFormat.xmlEscape(container))">"#
        if SimFormat.query(request, "prefix") != nil { xml += "<Prefix>\(SimFormat.xmlEscape(prefix))</Prefix>" }
        if let markerText { xml += "<Marker>\(SimFormat.xmlEscape(markerText))</Marker>" }
        if let m = SimFormat.query(request, "maxresults") { xml += "<MaxResults>\(SimFormat.xmlEscape(m))</MaxResults>" }
        if let delimiter { xml += "<Delimiter>\(SimFormat.xmlEscape(delimiter))</Delimiter>" }
        xml += items.isEmpty ? "<Blobs />" : "<Blobs>\(items)</Blobs>"
        xml += nextMarker.map { "<NextMarker>\(SimFormat.xmlEscape(Self.encodeMarker($0)))</NextMarker>" } ?? "<NextMarker />"
        xml += "</EnumerationResults>"
        var r = SimResponse(status: 200, reason: "OK", body: [0xEF, 0xBB, 0xBF] + Array(xml.utf8))
        r.headers = [("Content-Type", "application/xml"), ("Content-Length", String(r.body.count))] + blobCommonHeaders(request)
        return r
    }

    /// NextMarker: `2!<length>!<base64url(next name)>`, opaque to clients.
    static func encodeMarker(_ name: String) -> String {
        let encoded = SimFormat.base64url(Array(name.utf8))
        return "2!\(encoded.utf8.count)!\(encoded)"
    }

    static func decodeMarker(_ marker: String) -> String? {
        let parts = marker.split(separator: "!", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "2", let bytes = SimFormat.base64urlDecode(String(parts[2])) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Get Blob

    mutating func getBlob(_ request: SimRequest, blob: SimBlob) -> SimResponse {
        blobGetCounter += 1
        if let n = options.resetEvery, n > 0, blobGetCounter % n == 0 { return SimResponse(status: 500, fault: .reset) }
        if let n = options.serverErrorEvery, n > 0, blobGetCounter % n == 0 {
            return blobError(
                503, "ServerBusy", "The server is currently unable to receive requests. Please retry your request.", request: request)
        }
        if let ifMatch = request[header: "if-match"], ifMatch != "*", !Self.etagList(ifMatch).contains(blob.etag) {
            return blobError(
                412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.", request: request)
        }
        if let ifNone = request[header: "if-none-match"], ifNone == "*" || Self.etagList(ifNone).contains(blob.etag) {
            var r = SimResponse(status: 304, reason: "Not Modified")
            r.headers = blobHeaders(blob, request: request)
            return r
        }
        let size = blob.size
        var r: SimResponse
        var first = 0, count = size
        if let range = request[header: "x-ms-range"] ?? request[header: "range"], let (start, end) = Self.parseRange(range) {
            guard start < size else {
                var e = blobError(
                    416, "InvalidRange", "The range specified is invalid for the current size of the resource.", request: request)
                e.headers.append(("Content-Range", "bytes */\(size)"))
                return e
            }
            let last = min(end ?? (size - 1), size - 1)
            first = start
            count = last - start + 1
            r = SimResponse(status: 206, reason: "Partial Content")
            r.headers = blobHeaders(blob, request: request) + [("Content-Range", "bytes \(start)-\(last)/\(size)")]
        } else {
            r = SimResponse(status: 200, reason: "OK")
            r.headers = blobHeaders(blob, request: request)
        }
        if let file = blob.file {
            // Filled by `SimAzure.handle` after the lock is released.
            pendingFileRead = SimFileRead(path: file.path, offset: first, count: count)
        } else {
            r.body = first == 0 && count == size ? blob.bytes : Array(blob.bytes[first..<(first + count)])
        }
        // An explicit length: Azure Storage never gzips a blob (the server would otherwise).
        r.headers.append(("Content-Length", String(count)))
        if let n = options.truncateEvery, n > 0, blobGetCounter % n == 0, count > 0 {
            r.fault = .truncate(afterBytes: count / 2)
        }
        return r
    }

    /// `bytes=N-` or `bytes=N-M`; nil for anything else (then the whole blob is sent, as Azure does).
    static func parseRange(_ text: String) -> (Int, Int?)? {
        let t = text.trimmingSpaces
        guard t.lowercased().hasPrefix("bytes=") else { return nil }
        let spec = t.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard spec.count == 2, let start = Int(spec[0].trimmingSpaces), start >= 0 else { return nil }
        let endText = spec[1].trimmingSpaces
        if endText.isEmpty { return (start, nil) }
        guard let end = Int(endText), end >= start else { return nil }
        return (start, end)
    }

    /// The ETags of an `If-Match`/`If-None-Match` list, unquoted.
    static func etagList(_ header: String) -> [String] {
        header.split(separator: ",").map { item in
            var s = item.trimmingSpaces
            if s.hasPrefix("W/") { s = String(s.dropFirst(2)) }
            return s.trimmingCharacters(in: "\"")
        }
    }

    func blobHeaders(_ blob: SimBlob, request: SimRequest) -> [(name: String, value: String)] {
        [
            ("Content-Type", Self.blobContentType), ("Last-Modified", SimFormat.rfc1123(blob.modified)), ("Accept-Ranges", "bytes"),
            ("ETag", "\"\(blob.etag)\""), ("x-ms-creation-time", SimFormat.rfc1123(blob.created)), ("x-ms-lease-status", "unlocked"),
            ("x-ms-lease-state", "available"), ("x-ms-blob-type", "AppendBlob"), ("x-ms-blob-committed-block-count", String(blob.blocks)),
            ("x-ms-server-encrypted", "true"),
        ] + blobCommonHeaders(request)
    }

    func blobCommonHeaders(_ request: SimRequest) -> [(name: String, value: String)] {
        var h: [(name: String, value: String)] = [
            ("Server", "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0"),
            ("x-ms-request-id", currentRequestID),
            ("x-ms-version", request[header: "x-ms-version"] ?? Self.serviceVersion), ("Date", SimFormat.rfc1123(now)),
        ]
        if let c = request[header: "x-ms-client-request-id"] { h.append(("x-ms-client-request-id", c)) }
        return h
    }

    /// A storage error: BOM-prefixed XML `<Error><Code/><Message>…\nRequestId:…\nTime:…</Message>…</Error>`,
    /// `x-ms-error-code`, the message as reason phrase; no body for HEAD.
    func blobError(
        _ status: Int, _ code: String, _ message: String, request: SimRequest, head: Bool = false, detail: String? = nil, extra: String = ""
    ) -> SimResponse {
        let requestID = currentRequestID
        var xml = #"<?xml version="1.0" encoding="utf-8"?><Error><Code>\#(code)</Code><Message>\#(SimFormat.xmlEscape(message))"#
            + "\nRequestId:\(requestID)\nTime:\(SimFormat.iso7(now))</Message>"
        if let detail { xml += "<AuthenticationErrorDetail>\(SimFormat.xmlEscape(detail))</AuthenticationErrorDetail>" }
        xml += extra + "</Error>"
        var r = SimResponse(status: status, reason: message, body: head ? [] : [0xEF, 0xBB, 0xBF] + Array(xml.utf8))
        r.headers = [("Content-Type", "application/xml"), ("x-ms-error-code", code)]
            + blobCommonHeaders(request)
        return r
    }

    // MARK: - Store

    /// A fresh ETag, `0x8D` and 13 hex digits.
    mutating func newETag() -> String {
        "0x8DD" + SimFormat.hex(ids.next() >> 12, 12).uppercased()
    }

    /// Creates or replaces a blob (a new ETag, content from byte 0).
    mutating func putBlob(container: String, name: String, bytes: [UInt8], created: Int64? = nil, modified: Int64? = nil, blocks: Int? = nil) -> String {
        let etag = newETag()
        let t = now
        containers[container.lowercased(), default: [:]][name] = SimBlob(
            bytes: bytes, etag: etag, created: created ?? t, modified: modified ?? t, blocks: blocks ?? (bytes.isEmpty ? 0 : 1))
        return etag
    }

    /// Appends to a blob (created when missing): same blob, longer, a new ETag. A file-backed
    /// blob becomes an in-memory one holding the file's content (the file is never written).
    mutating func appendBlob(container: String, name: String, bytes: [UInt8]) -> String {
        let c = container.lowercased()
        guard var blob = containers[c]?[name] else { return putBlob(container: c, name: name, bytes: bytes) }
        if let file = blob.file {
            blob.bytes = SimFileRead.read(file.path, offset: 0, count: file.size) ?? []
            blob.file = nil
        }
        blob.bytes += bytes
        blob.etag = newETag()
        blob.modified = now
        blob.blocks += 1
        containers[c]?[name] = blob
        return blob.etag
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

// MARK: - Public API

extension SimAzure {
    /// Appends bytes to a blob (creating it, and its container, when missing): the same blob
    /// grows, with a new ETag and one more committed block, as Azure Monitor appends.
    ///
    /// - Returns: the new ETag (unquoted).
    @discardableResult
    public func appendToBlob(container: String, name: String, bytes: [UInt8]) -> String {
        locked { $0.appendBlob(container: container, name: name, bytes: bytes) }
    }

    /// Deletes a blob and creates it again with `bytes`: a new ETag and content from byte 0,
    /// as when an export blob is re-created.
    ///
    /// - Returns: the new ETag.
    @discardableResult
    public func recreateBlob(container: String, name: String, bytes: [UInt8]) -> String {
        locked { $0.putBlob(container: container, name: name, bytes: bytes) }
    }

    /// Creates or replaces a blob (and its container).
    ///
    /// - Returns: the new ETag.
    @discardableResult
    public func putBlob(container: String, name: String, bytes: [UInt8]) -> String {
        locked { $0.putBlob(container: container, name: name, bytes: bytes) }
    }

    /// Creates an empty container (no-op when it exists).
    public func createContainer(_ name: String) {
        locked { s in
            if s.containers[name.lowercased()] == nil { s.containers[name.lowercased()] = [:] }
        }
    }

    /// Deletes a blob; false when there was none.
    @discardableResult
    public func deleteBlob(container: String, name: String) -> Bool {
        locked { $0.containers[container.lowercased()]?.removeValue(forKey: name) != nil }
    }

    /// The blob names of a container, in listing (byte) order.
    public func blobNames(container: String) -> [String] {
        locked { s in
            (s.containers[container.lowercased()].map { Array($0.keys) } ?? []).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        }
    }

    /// A blob's content, or nil (a file-backed blob's file is read; nil when it is unreadable).
    public func blobContent(container: String, name: String) -> [UInt8]? {
        guard let blob = locked({ $0.containers[container.lowercased()]?[name] }) else { return nil }
        guard let file = blob.file else { return blob.bytes }
        return SimFileRead.read(file.path, offset: 0, count: file.size)
    }

    /// Whether a blob is file-backed (served from its file in the scenario folder, range by
    /// range) rather than held in memory; nil when there is no such blob.
    public func isFileBacked(container: String, name: String) -> Bool? {
        locked { $0.containers[container.lowercased()]?[name].map { $0.file != nil } }
    }

    /// A blob's ETag (unquoted), or nil.
    public func blobETag(container: String, name: String) -> String? {
        locked { $0.containers[container.lowercased()]?[name]?.etag }
    }
}
