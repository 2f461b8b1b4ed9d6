import AuditCore

/// Recovers what it can from a Statuspage JSON document that does not parse (truncated
/// download, a stray byte): the `page` object and the complete `incidents[]` /
/// `scheduled_maintenances[]` elements that come before the break.
///
/// It walks the top-level object without building it, skipping member values by bracket
/// matching (string-aware), and hands each complete element to `JSONParser`.
struct StatusFeedJSONSalvage {
    /// True when a top-level `"incidents"` or `"page"` key was seen.
    var recognized = false
    var page: JSONObject?
    var incidents: [JSONValue] = []
    var maintenances: [JSONValue] = []

    static func scan(_ bytes: [UInt8]) -> StatusFeedJSONSalvage {
        var found = StatusFeedJSONSalvage()
        var scanner = Scanner(bytes: bytes)
        scanner.skipBOMAndSpaces()
        guard scanner.consume(UInt8(ascii: "{")) else { return found }
        while true {
            scanner.skipSpaces()
            guard let key = scanner.string() else { return found }
            scanner.skipSpaces()
            guard scanner.consume(UInt8(ascii: ":")) else { return found }
            scanner.skipSpaces()
            if key == "incidents" || key == "page" { found.recognized = true }
            switch key {
            case "incidents", "scheduled_maintenances":
                let complete = scanner.elements { value in
                    if key == "incidents" { found.incidents.append(value) } else { found.maintenances.append(value) }
                }
                guard complete else { return found }
            default:
                let start = scanner.i
                guard scanner.skipValue() else { return found }
                if key == "page" {
                    found.page = (try? JSONParser.parse(Array(bytes[start..<scanner.i])))?.objectValue
                }
            }
            scanner.skipSpaces()
            guard scanner.consume(UInt8(ascii: ",")) else { return found }
        }
    }

    private struct Scanner {
        let bytes: [UInt8]
        var i = 0

        mutating func skipBOMAndSpaces() {
            if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
            skipSpaces()
        }

        mutating func skipSpaces() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        }

        mutating func consume(_ b: UInt8) -> Bool {
            guard i < bytes.count, bytes[i] == b else { return false }
            i += 1
            return true
        }

        /// A string token's raw content (escapes left as written; keys here are plain ASCII).
        mutating func string() -> String? {
            let start = i
            guard skipString() else { return nil }
            return String(decoding: bytes[(start + 1)..<(i - 1)], as: UTF8.self)
        }

        /// Skips a string starting at `i`; false when it is not one or is cut off.
        mutating func skipString() -> Bool {
            guard consume(UInt8(ascii: "\"")) else { return false }
            while i < bytes.count {
                let b = bytes[i]
                i += 1
                if b == UInt8(ascii: "\\") { i += 1 } else if b == UInt8(ascii: "\"") { return true }
            }
            return false
        }

        /// Skips one complete value; false when it is cut off or malformed.
        mutating func skipValue() -> Bool {
            guard i < bytes.count else { return false }
            switch bytes[i] {
            case UInt8(ascii: "\""):
                return skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while i < bytes.count {
                    switch bytes[i] {
                    case UInt8(ascii: "\""):
                        guard skipString() else { return false }
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["):
                        depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 { i += 1; return true }
                    default:
                        break
                    }
                    i += 1
                }
                return false
            default:
                let start = i
                while i < bytes.count, !Self.endsScalar(bytes[i]) { i += 1 }
                return i > start && i < bytes.count
            }
        }

        private static func endsScalar(_ b: UInt8) -> Bool {
            b == UInt8(ascii: ",") || b == UInt8(ascii: "}") || b == UInt8(ascii: "]") || b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D
        }

        /// Reads an array's elements, calling `body` with each that parses; false when the array
        /// breaks off (the elements before the break have been delivered).
        mutating func elements(_ body: (JSONValue) -> Void) -> Bool {
            guard consume(UInt8(ascii: "[")) else { return skipValue() }
            skipSpaces()
            if consume(UInt8(ascii: "]")) { return true }
            while true {
                skipSpaces()
                let start = i
                guard skipValue(), let value = try? JSONParser.parse(Array(bytes[start..<i])) else { return false }
                body(value)
                skipSpaces()
                if consume(UInt8(ascii: "]")) { return true }
                guard consume(UInt8(ascii: ",")) else { return false }
            }
        }
    }
}
