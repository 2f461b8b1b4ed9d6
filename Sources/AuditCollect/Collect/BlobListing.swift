import AuditCore
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// One blob of a List Blobs page (formats.md §10.2).
struct BlobItem: Sendable, Equatable {
    var name: String
    var etag: String
    var length: Int64
    /// `Creation-Time` (UTC µs) when listed: a re-created blob has a new one.
    var created: Int64?
    var blobType: String
}

/// Parses the List Blobs XML: a UTF-8 BOM may lead (real Azure sends one, Azurite does not),
/// empty elements are self-closing, a name may come percent-encoded (`Encoded="true"`), and a
/// page may hold no blob yet a `NextMarker`.
final class BlobListParser: NSObject, XMLParserDelegate {
    private(set) var blobs: [BlobItem] = []
    private(set) var nextMarker: String?
    private(set) var failure: String?
    private var path: [String] = []
    private var text = ""
    private var encoded = false
    private var current: (name: String, etag: String, length: Int64, created: Int64?, type: String)?

    static func parse(_ bytes: [UInt8]) -> (blobs: [BlobItem], nextMarker: String?, error: String?) {
        var body = bytes[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        let delegate = BlobListParser()
        let parser = XMLParser(data: Data(body))
        parser.delegate = delegate
        let ok = parser.parse()
        if !ok && delegate.failure == nil { delegate.failure = parser.parserError.map { "\($0.localizedDescription)" } ?? "not valid XML" }
        if delegate.path.isEmpty && delegate.blobs.isEmpty && delegate.nextMarker == nil && delegate.failure == nil && !delegate.sawRoot {
            delegate.failure = "not a List Blobs response"
        }
        return (delegate.blobs, delegate.nextMarker, delegate.failure)
    }

    private var sawRoot = false

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        if path.isEmpty {
            guard elementName == "EnumerationResults" else { failure = "not a List Blobs response (root <\(elementName)>)"; parser.abortParsing(); return }
            sawRoot = true
        }
        path.append(elementName)
        text = ""
        if elementName == "Blob" { current = ("", "", 0, nil, "") }
        if elementName == "Name" { encoded = attributeDict["Encoded"] == "true" }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        defer { path.removeLast(); text = "" }
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        switch elementName {
        case "Name" where path.count >= 2 && path[path.count - 2] == "Blob":
            current?.name = encoded ? (value.removingPercentEncoding ?? value) : value
        case "Etag": current?.etag = value.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        case "Content-Length": current?.length = Int64(value) ?? 0
        case "Creation-Time": current?.created = Timestamp.parse(value)
        case "BlobType": current?.type = value
        case "Blob":
            if let c = current, !c.name.isEmpty { blobs.append(BlobItem(name: c.name, etag: c.etag, length: c.length, created: c.created, blobType: c.type)) }
            current = nil
        case "NextMarker" where path.count == 2: nextMarker = value.isEmpty ? nil : value
        default: break
        }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        if failure == nil { failure = "malformed XML at line \(parser.lineNumber): \(parseError.localizedDescription)" }
    }
}

/// The hour a diagnostic-settings blob covers, from `…/y=2026/m=11/d=23/h=04/m=00/PT1H.json`.
enum BlobHour {
    static func start(of name: String) -> Int64? {
        var y: Int64?, mo: Int64?, d: Int64?, h: Int64?
        var seenHour = false
        for part in name.split(separator: "/") {
            guard let eq = part.firstIndex(of: "=") else { continue }
            let key = part[..<eq], value = Int64(part[part.index(after: eq)...])
            switch key {
            case "y": y = value
            case "m": if !seenHour { mo = value }
            case "d": d = value
            case "h": h = value; seenHour = true
            default: break
            }
        }
        guard let y, let mo, let d, let h else { return nil }
        return Timestamp.make(year: y, month: mo, day: d, hour: h)
    }
}
