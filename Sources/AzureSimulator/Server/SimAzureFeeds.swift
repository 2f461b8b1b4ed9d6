import AuditCore
import Foundation

/// One status feed document.
struct SimFeed: Sendable {
    var bytes: [UInt8]
    /// Quoted strong ETag.
    var etag: String
    /// Whole seconds (HTTP dates have no fraction).
    var modified: Int64
}

/// Vendor status feeds (formats.md §6) under `/status/<name>`: the scenario's `azure.rss`,
/// `openai.atom` and `incidents.json` (and any other file of its `status/` folder), with
/// `ETag`/`Last-Modified` and 304 answers to `If-None-Match`/`If-Modified-Since`. No auth.
extension SimAzureState {
    static func feedContentType(_ name: String) -> String {
        let lower = name.lowercased()
        if lower.hasSuffix(".rss") { return "application/rss+xml; charset=utf-8" }
        if lower.hasSuffix(".atom") { return "application/atom+xml; charset=utf-8" }
        if lower.hasSuffix(".json") { return "application/json; charset=utf-8" }
        return "application/octet-stream"
    }

    /// The feed name of `/status/azure.rss`, `status/azure.rss` or `azure.rss`.
    static func feedName(_ path: String) -> String {
        var p = Substring(path)
        while p.hasPrefix("/") { p = p.dropFirst() }
        if p.lowercased().hasPrefix("status/") { p = p.dropFirst(7) }
        return p.lowercased()
    }

    mutating func setFeed(_ name: String, bytes: [UInt8]) {
        let t = now / Timestamp.microsPerSecond * Timestamp.microsPerSecond
        feeds[Self.feedName(name)] = SimFeed(
            bytes: bytes, etag: "\"" + SimFormat.hex(SimFormat.fnv1a(bytes) ^ ids.next() >> 32, 16) + "\"", modified: t)
    }

    func handleFeed(_ request: SimRequest) -> SimResponse {
        guard request.method == "GET" || request.method == "HEAD" else {
            return SimResponse(status: 405, reason: "Method Not Allowed", headers: [("Allow", "GET, HEAD")])
        }
        let name = Self.feedName(request.path)
        guard let feed = feeds[name] else {
            return SimResponse(status: 404, reason: "Not Found", headers: [("Content-Type", "text/plain")], body: Array("Not Found".utf8))
        }
        let headers: [(name: String, value: String)] = [
            ("ETag", feed.etag), ("Last-Modified", SimFormat.rfc1123(feed.modified)), ("Cache-Control", "max-age=60, public"),
        ]
        if let inm = request[header: "if-none-match"] {
            let tags = inm.split(separator: ",").map { $0.trimmingSpaces.replacingPrefix("W/") }
            if tags.contains("*") || tags.contains(feed.etag) { return SimResponse(status: 304, reason: "Not Modified", headers: headers) }
        } else if let ims = request[header: "if-modified-since"], let since = Timestamp.parse(ims), feed.modified <= since {
            return SimResponse(status: 304, reason: "Not Modified", headers: headers)
        }
        var r = SimResponse(status: 200, reason: "OK", headers: [("Content-Type", Self.feedContentType(name))] + headers)
        if request.method == "HEAD" {
            r.headers.append(("Content-Length", String(feed.bytes.count)))
        } else {
            r.body = feed.bytes
        }
        return r
    }
}

extension String {
    fileprivate func replacingPrefix(_ prefix: String) -> String {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }
}

// MARK: - Public API

extension SimAzure {
    /// Replaces (or adds) a status feed: a new ETag and Last-Modified, so conditional GETs
    /// get the new document.
    ///
    /// - Parameters:
    ///   - path: `/status/azure.rss`, or just `azure.rss`.
    ///   - bytes: the document.
    public func setFeed(path: String, bytes: [UInt8]) {
        locked { $0.setFeed(path, bytes: bytes) }
    }
}
