import AuditCore
import Foundation

/// What one vendor status feed produced.
public struct StatusFeedResult: Sendable {
    /// `"rss"`, `"atom"` or `"statuspage-json"`.
    public var format: String
    /// One row per item (RSS/Atom) or per incident update (Statuspage JSON).
    public var incidents: [VendorIncident]
    /// Items that could not be loaded, and the point where a malformed document broke off.
    public var quarantine: [QuarantineEntry]

    public init(format: String, incidents: [VendorIncident] = [], quarantine: [QuarantineEntry] = []) {
        self.format = format
        self.incidents = incidents
        self.quarantine = quarantine
    }
}

/// Reads vendor status feeds into `VendorIncident` rows: Azure status RSS, Statuspage and
/// incident.io RSS/Atom, and the Statuspage JSON API (`incidents.json`, `summary.json`).
///
/// Incident keys are `provider:id` and stay the same across updates; update keys tell updates
/// apart (a content hash for feed items, the update id for Statuspage JSON), so reading the same
/// feed twice yields the same rows. Every stored text goes through `Redactor`.
///
/// ```swift
/// if let feed = StatusFeedParser.parse(bytes, source: "azure.rss") {
///     batch.incidents += feed.incidents
///     batch.quarantine += feed.quarantine
/// }
/// ```
public enum StatusFeedParser {
    /// Detects RSS 2.0, Atom or Statuspage JSON (`/api/v2/incidents.json` and `summary.json`) by content.
    ///
    /// A malformed document that can still be recognized yields the items read before the
    /// break plus a quarantine entry; an item without a usable date or title is quarantined and
    /// the others still load.
    /// - Parameters:
    ///   - bytes: the whole file.
    ///   - source: the file name or URL, stored in quarantine entries.
    /// - Returns: nil when the bytes are none of these (the caller reports "unrecognized file").
    public static func parse(_ bytes: [UInt8], source: String) -> StatusFeedResult? {
        let input = StatusFeedSource(name: source, bytes: bytes)
        switch firstSignificantByte(bytes) {
        case UInt8(ascii: "<"): return parseXML(input)
        case UInt8(ascii: "{"): return StatusFeedJSONReader.read(input)
        default: return nil
        }
    }

    /// True when the first bytes look like a feed this parser handles (XML with `<rss` or
    /// `<feed`, or JSON with `"incidents"`/`"page"`).
    public static func sniff(_ head: [UInt8]) -> Bool {
        switch firstSignificantByte(head) {
        case UInt8(ascii: "<"):
            let text = String(decoding: head, as: UTF8.self).lowercased()
            return text.contains("<rss") || text.contains("<feed") || text.contains(":feed ")
        case UInt8(ascii: "{"):
            let text = String(decoding: head, as: UTF8.self)
            return text.contains("\"incidents\"") || text.contains("\"page\"")
        default:
            return false
        }
    }

    // MARK: - Internals

    /// The first byte that is not whitespace or a UTF-8 byte order mark.
    static func firstSignificantByte(_ bytes: [UInt8]) -> UInt8? {
        var i = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        while i < bytes.count {
            let b = bytes[i]
            if b != 0x20, b != 0x09, b != 0x0A, b != 0x0D { return b }
            i += 1
        }
        return nil
    }

    private static func parseXML(_ input: StatusFeedSource) -> StatusFeedResult? {
        let builder = StatusFeedXMLTreeBuilder()
        builder.build(input.bytes)
        guard let root = builder.root else { return nil }
        var result: StatusFeedResult
        switch root.localName {
        case "rss": result = StatusFeedRSSReader.read(root, input)
        case "feed": result = StatusFeedAtomReader.read(root, input)
        default: return nil
        }
        if let reason = builder.errorReason {
            result.quarantine.append(input.quarantine(line: builder.errorLine, column: builder.errorColumn, reason: reason))
        }
        return result
    }

    /// The provider slug: "azure" for Azure status, else the host of the feed's link or id,
    /// else the feed title lower-cased.
    static func provider(title: String?, link: String?, id: String?) -> String {
        let host = host(of: link) ?? host(of: id)
        if let t = title, t.trimmingSpaces.caseInsensitiveEquals("Azure Status") { return "azure" }
        if let h = host, h.contains("azure") { return "azure" }
        if let h = host { return h }
        if let t = title?.trimmingSpaces, !t.isEmpty { return Redactor.redact(t.lowercased()) }
        return "unknown"
    }

    /// The lower-cased host of `scheme://host/...` or of a `tag:host,date:...` URI, without `www.`.
    static func host(of uri: String?) -> String? {
        guard var s = uri?.trimmingSpaces, !s.isEmpty else { return nil }
        if s.lowercased().hasPrefix("tag:") {
            s = String(s.dropFirst(4))
            guard let comma = s.firstIndex(of: ",") else { return nil }
            s = String(s[..<comma])
        } else {
            guard let scheme = s.range(of: "://") else { return nil }
            s = String(s[scheme.upperBound...])
            if let end = s.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { s = String(s[..<end]) }
            if let at = s.lastIndex(of: "@") { s = String(s[s.index(after: at)...]) }
            if let colon = s.lastIndex(of: ":"), !s.hasSuffix("]") { s = String(s[..<colon]) }
        }
        s = s.asciiLowercased
        if s.hasPrefix("www.") { s = String(s.dropFirst(4)) }
        return s.isEmpty ? nil : s
    }

    /// A URL as stored: secret query values masked, then scrubbed like any text.
    static func storedURL(_ url: String?) -> String? {
        guard let u = url?.trimmingSpaces, !u.isEmpty else { return nil }
        return Redactor.redact(Redactor.redactURL(u))
    }
}

/// The fields of one RSS item or Atom entry, turned into a `VendorIncident` the same way for both.
struct StatusFeedItem {
    var provider: String
    /// `<guid>` / `<id>`: the incident's identity in the feed, when it has one.
    var id: String?
    var title: String
    /// The title without a trailing (or leading) status word.
    var titleCore: String
    var status: String?
    var service: String?
    var region: String?
    var startUs: Int64
    var updatedUs: Int64
    var url: String?
    var body: String?

    /// The row: the incident key is `provider:id` (or a hash of the title without its status,
    /// service and region), the update key a hash of status, time and body.
    var incident: VendorIncident {
        let body = body.map(Redactor.redact)
        let service = service.map(Redactor.redact)
        let region = region.map(Redactor.redact)
        let keyPart = id.map(Redactor.redact) ?? StableHash.hex(titleCore, service ?? "", region ?? "")
        return VendorIncident(
            incidentKey: provider + ":" + keyPart,
            updateKey: StableHash.hex(status ?? "", String(updatedUs), body ?? ""),
            provider: provider,
            title: Redactor.redact(title),
            status: status,
            impact: nil,
            service: service,
            region: region,
            startUs: min(startUs, updatedUs),
            updatedUs: updatedUs,
            resolvedUs: StatusFeedText.isResolved(status) ? updatedUs : nil,
            url: StatusFeedParser.storedURL(url),
            body: body
        )
    }
}

/// Why an item, entry or incident was not loaded (becomes a quarantine reason).
struct StatusFeedProblem: Error {
    var reason: String
}

/// The input being read: its name and bytes, for quarantine entries and their excerpts.
struct StatusFeedSource {
    static let excerptLength = 200

    let name: String
    let bytes: [UInt8]

    /// A quarantine entry whose excerpt starts at the start tag of `node`.
    func quarantine(_ node: StatusFeedXMLNode, reason: String) -> QuarantineEntry {
        QuarantineEntry(
            source: name, line: node.line, byteOffset: nil, reason: Redactor.redact(reason),
            excerpt: excerpt(line: node.line, column: node.column, tag: node.name))
    }

    /// A quarantine entry whose excerpt starts at `line` (near `column` when the line is long).
    func quarantine(line: Int?, column: Int? = nil, reason: String) -> QuarantineEntry {
        QuarantineEntry(
            source: name, line: line, byteOffset: nil, reason: Redactor.redact(reason),
            excerpt: excerpt(line: line, column: column))
    }

    /// A quarantine entry with a given excerpt text.
    func quarantine(line: Int?, reason: String, excerptText: String) -> QuarantineEntry {
        QuarantineEntry(
            source: name, line: line, byteOffset: nil, reason: Redactor.redact(reason),
            excerpt: Redactor.redact(String(excerptText.prefix(Self.excerptLength))))
    }

    /// The 1-based line holding byte `offset`.
    func line(ofByte offset: Int) -> Int {
        var line = 1
        for b in bytes[..<min(max(offset, 0), bytes.count)] where b == 0x0A { line += 1 }
        return line
    }

    /// Up to 200 redacted characters from the start of `line`; with a `tag`, from the last `<tag`
    /// that starts before `column` on that line (several elements can share a line); without
    /// one, from a little before `column` when the line is long.
    func excerpt(line: Int?, column: Int? = nil, tag: String? = nil) -> String {
        var start = 0
        if let line, line > 1 {
            var seen = 1
            for (i, b) in bytes.enumerated() where b == 0x0A {
                seen += 1
                if seen == line { start = i + 1; break }
            }
        }
        var end = start
        while end < bytes.count, bytes[end] != 0x0A { end += 1 }
        let cut = column.map { min(end, start + max($0, 1)) } ?? end
        if let tag {
            if let at = findLast(Array("<\(tag)".utf8), in: start..<cut) ?? findLast(Array("<\(tag)".utf8), in: start..<end) { start = at }
        } else if cut - start > Self.excerptLength {
            start = max(start, cut - Self.excerptLength / 2)
        }
        while start < bytes.count, [0x20, 0x09, 0x0D, 0x0A].contains(bytes[start]) { start += 1 }
        let slice = bytes[start..<min(bytes.count, start + Self.excerptLength * 4)]
        return Redactor.redact(String(String(decoding: slice, as: UTF8.self).prefix(Self.excerptLength)))
    }

    private func findLast(_ needle: [UInt8], in range: Range<Int>) -> Int? {
        guard !needle.isEmpty, range.count >= needle.count else { return nil }
        for i in stride(from: range.upperBound - needle.count, through: range.lowerBound, by: -1) where bytes[i] == needle[0] {
            if bytes[i..<(i + needle.count)].elementsEqual(needle) { return i }
        }
        return nil
    }
}
