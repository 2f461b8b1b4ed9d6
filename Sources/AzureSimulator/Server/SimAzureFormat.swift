import AuditCore
import Foundation

/// Text helpers shared by the simulator's endpoint families: JSON literals, times in the form
/// each service writes them, ids, base64url, percent-encoding, form bodies and XML escaping.
enum SimFormat {
    /// `s` as a JSON string literal, quotes included.
    static func json(_ s: String) -> String {
        var out = ""
        JSONValue.writeString(s, to: &out)
        return out
    }

    /// `2024-05-29T14:02:11.4732210Z` (ARM, storage error `Time:`; 7 fractional digits).
    static func iso7(_ us: Int64) -> String { String(Timestamp.iso(us).dropLast()) + "0Z" }

    /// `2026-11-23T00:01:02.123Z` (Log Analytics cells, millisecond precision).
    static func isoMillis(_ us: Int64) -> String { String(Timestamp.iso(us).prefix(23)) + "Z" }

    /// `Wed, 29 May 2024 14:05:01 GMT` (RFC 1123: HTTP dates, blob properties).
    static func rfc1123(_ us: Int64) -> String {
        let days = floorDiv(us, Timestamp.microsPerDay)
        let secs = (us - days * Timestamp.microsPerDay) / Timestamp.microsPerSecond
        let (y, m, d) = Timestamp.civilFromDays(days)
        let weekday = Int(((days + 4) % 7 + 7) % 7)  // 1970-01-01 was a Thursday
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(names[weekday]), \(pad(d, 2)) \(months[Int(m) - 1]) \(y) \(pad(secs / 3600, 2)):\(pad(secs / 60 % 60, 2)):\(pad(secs % 60, 2)) GMT"
    }

    /// Parses an RFC 1123 date (`If-Modified-Since`) to whole-second microseconds.
    static func parseRFC1123(_ text: String) -> Int64? { Timestamp.parse(text) }

    /// `4/15/2023 7:40:04 AM` (the US-locale times in ARM's `ExpiredAuthenticationToken`).
    static func usDate(_ us: Int64) -> String {
        let days = floorDiv(us, Timestamp.microsPerDay)
        let secs = (us - days * Timestamp.microsPerDay) / Timestamp.microsPerSecond
        let (y, m, d) = Timestamp.civilFromDays(days)
        let hour24 = secs / 3600
        let hour12 = hour24 % 12 == 0 ? 12 : hour24 % 12
        return "\(m)/\(d)/\(y) \(hour12):\(pad(secs / 60 % 60, 2)):\(pad(secs % 60, 2)) \(hour24 < 12 ? "AM" : "PM")"
    }

    /// `2023-05-06 06:03:00Z` (Entra ID error bodies).
    static func aadTimestamp(_ us: Int64) -> String {
        let iso = Timestamp.iso(us)
        return String(iso.prefix(10)) + " " + String(iso.dropFirst(11).prefix(8)) + "Z"
    }

    /// `20240529T140211Z` (the time inside `x-ms-routing-request-id`).
    static func routingTime(_ us: Int64) -> String { Timestamp.basic(us) }

    /// Base64url without padding (JWT segments).
    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Decodes base64url with or without padding.
    static func base64urlDecode(_ text: String) -> [UInt8]? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.utf8.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s).map { Array($0) }
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters (query values).
    static func percentEncode(_ s: String) -> String {
        percentEncode(s, keeping: [])
    }

    /// Percent-encodes a path, keeping `/` and the characters blob names and ARM ids use.
    static func percentEncodePath(_ s: String) -> String {
        percentEncode(s, keeping: Set("/=:@".utf8))
    }

    private static func percentEncode(_ s: String, keeping extra: Set<UInt8>) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        for b in s.utf8 {
            let unreserved = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E
            if unreserved || extra.contains(b) {
                out.append(b)
            } else {
                out += [0x25, hex[Int(b >> 4)], hex[Int(b & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes `application/x-www-form-urlencoded` (`+` is a space, `%XX` a byte).
    static func formDecode(_ body: [UInt8]) -> [String: String] {
        var out: [String: String] = [:]
        for pair in body.split(separator: UInt8(ascii: "&")) {
            let kv = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let key = percentDecode(Array(kv[0]))
            out[key] = kv.count > 1 ? percentDecode(Array(kv[1])) : ""
        }
        return out
    }

    private static func percentDecode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "+") {
                out.append(0x20)
            } else if b == UInt8(ascii: "%"), i + 2 < bytes.count, let h = hexValue(bytes[i + 1]), let l = hexValue(bytes[i + 2]) {
                out.append(h << 4 | l)
                i += 2
            } else {
                out.append(b)
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }

    /// Escapes `& < > " '` for XML text and attributes.
    static func xmlEscape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// 64-bit FNV-1a of the UTF-8 bytes (stable across processes, unlike `Hasher`).
    static func fnv1a(_ s: String) -> UInt64 { fnv1a(Array(s.utf8)) }

    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }

    /// Lower-case hexadecimal of `v`, zero-padded to `width` digits.
    static func hex(_ v: UInt64, _ width: Int) -> String {
        let s = String(v, radix: 16)
        return s.count >= width ? String(s.suffix(width)) : String(repeating: "0", count: width - s.count) + s
    }

    /// A GUID-shaped id (version-4 layout) from two 64-bit values.
    static func guid(_ a: UInt64, _ b: UInt64) -> String {
        let h = hex(a, 16), l = hex(b, 16)
        let variant = ["8", "9", "a", "b"][Int(b >> 62)]
        return "\(h.prefix(8))-\(h.dropFirst(8).prefix(4))-4\(h.dropFirst(13).prefix(3))-\(variant)\(l.prefix(3))-\(l.suffix(12))"
    }

    /// A deterministic GUID for `text` (role assignment names, account internals).
    static func guid(for text: String) -> String {
        let a = fnv1a(text)
        return guid(a, SimIDs.mix(a ^ 0x5851_F42D_4C95_7F2D))
    }

    /// Case-insensitive lookup of a query parameter (`$skipToken` vs `$skiptoken`).
    static func query(_ request: SimRequest, _ name: String) -> String? {
        if let v = request.query[name] { return v }
        for (k, v) in request.query where k.caseInsensitiveEquals(name) { return v }
        return nil
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    private static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}

/// Deterministic ids for one simulator: a SplitMix64 stream over a counter, so two runs with
/// the same seed and the same requests hand out the same request ids, ETags and tokens.
struct SimIDs {
    private var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 }

    /// The SplitMix64 finalizer.
    static func mix(_ x0: UInt64) -> UInt64 {
        var z = x0
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// A fresh GUID-shaped id.
    mutating func guid() -> String {
        let a = next(), b = next()
        return SimFormat.guid(a, b)
    }
}
