import AuditCore
import Foundation

/// Text helpers for status feeds: HTML to plain text, status words and the status marker
/// that Statuspage (`<strong>Resolved</strong>`) and incident.io (`<b>Status: Monitoring</b>`)
/// put at the top of an item's HTML.
enum StatusFeedText {
    /// Longest body kept, in characters.
    static let maxBody = 4000

    /// Status words, lower-cased, as feeds spell them (Statuspage, incident.io, Azure).
    static let statusWords: Set<String> = [
        "investigating", "identified", "monitoring", "resolved", "mitigated", "active", "update", "postmortem",
        "scheduled", "in progress", "verifying", "completed", "degraded performance", "partial outage",
        "major outage", "full outage", "under maintenance", "operational", "restored", "mitigating",
        "under investigation", "recovering",
    ]

    /// Normalized statuses that mean the incident is over.
    static let resolvedStatuses: Set<String> = ["resolved", "completed", "mitigated", "postmortem", "restored"]

    /// `In progress` → `in_progress` (the Statuspage JSON spelling), or nil when not a status word.
    static func normalizedStatus(_ word: String) -> String? {
        var w = collapseWhitespace(word).lowercased()
        while w.hasSuffix(":") || w.hasSuffix(".") { w.removeLast() }
        w = w.trimmingSpaces
        if w.hasPrefix("status:") { w = String(w.dropFirst(7)).trimmingSpaces }
        guard statusWords.contains(w) || statusWords.contains(w.replacingUnderscores()) else { return nil }
        return w.replacingSpaces()
    }

    /// True when a normalized status means resolved.
    static func isResolved(_ status: String?) -> Bool {
        guard let s = status else { return false }
        return resolvedStatuses.contains(s)
    }

    /// The status named by the first `<strong>…</strong>` or `<b>…</b>` that holds a status word.
    static func statusMarker(inHTML html: String) -> String? {
        let u = Array(html.utf8)
        var i = 0
        while i < u.count {
            guard u[i] == UInt8(ascii: "<"), let (name, end) = tagName(u, i), name == "strong" || name == "b" else {
                i += 1
                continue
            }
            // Text up to the next tag.
            var j = end
            while j < u.count, u[j] != UInt8(ascii: "<") { j += 1 }
            let inner = decodeEntities(String(decoding: u[end..<j], as: UTF8.self))
            if let s = normalizedStatus(inner) { return s }
            i = j
        }
        return nil
    }

    /// The names listed under incident.io's `<b>Affected components</b><ul><li>Name (Status)</li>…</ul>`.
    static func affectedComponents(inHTML html: String) -> [String] {
        guard let marker = html.range(of: "Affected components", options: .caseInsensitive) else { return [] }
        let rest = html[marker.upperBound...]
        let list = rest.range(of: "</ul>").map { rest[..<$0.lowerBound] } ?? rest
        var names: [String] = []
        for piece in list.components(separatedBy: "<li>").dropFirst() {
            var name = collapseWhitespace(decodeEntities(stripTags(piece)))
            if name.hasSuffix(")"), let open = name.lastIndex(of: "(") {
                name = String(name[..<open]).trimmingSpaces
            }
            if !name.isEmpty, !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// Plain text of an HTML fragment: tags removed (block tags become spaces), entities
    /// decoded, whitespace collapsed, at most `maxBody` characters.
    static func plainText(fromHTML html: String) -> String {
        limit(collapseWhitespace(decodeEntities(stripTags(html))))
    }

    /// Plain text kept as is apart from whitespace, at most `maxBody` characters.
    static func plainText(fromText text: String) -> String {
        limit(collapseWhitespace(text))
    }

    static func limit(_ s: String) -> String { s.count <= maxBody ? s : String(s.prefix(maxBody)) }

    /// Tags that separate words; inline tags (`<var>`, `<strong>`, `<a>`…) vanish without a space,
    /// so `Nov <var>14</var>, 14:07` reads "Nov 14, 14:07".
    static let blockTags: Set<String> = [
        "p", "br", "div", "li", "ul", "ol", "dl", "dt", "dd", "tr", "td", "th", "table", "thead", "tbody",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "blockquote", "pre", "section", "article", "header",
        "footer", "small", "img", "",
    ]

    /// Removes tags, comments and the content of `<script>`/`<style>`; block tags become a space.
    static func stripTags<S: StringProtocol>(_ html: S) -> String {
        let u = Array(html.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(u.count)
        var i = 0
        while i < u.count {
            let b = u[i]
            guard b == UInt8(ascii: "<") else { out.append(b); i += 1; continue }
            // A comment.
            if i + 3 < u.count, u[i + 1] == UInt8(ascii: "!"), u[i + 2] == UInt8(ascii: "-"), u[i + 3] == UInt8(ascii: "-") {
                i = find(u, Array("-->".utf8), from: i + 4).map { $0 + 3 } ?? u.count
                out.append(0x20)
                continue
            }
            guard let (name, end) = tagName(u, i) else { out.append(b); i += 1; continue }
            i = end
            if name == "script" || name == "style" {
                i = find(u, Array("</\(name)".utf8), from: i).flatMap { close in
                    u[close...].firstIndex(of: UInt8(ascii: ">")).map { $0 + 1 }
                } ?? u.count
            }
            if blockTags.contains(name) || name == "script" || name == "style" { out.append(0x20) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The lower-cased name of the tag starting at `start` (`<b>`, `</p>`, `<br/>`) and the index
    /// after its `>`; nil when `<` does not start a tag (e.g. `a < b`).
    static func tagName(_ u: [UInt8], _ start: Int) -> (String, Int)? {
        var i = start + 1
        guard i < u.count else { return nil }
        let isDeclaration = u[i] == UInt8(ascii: "!") || u[i] == UInt8(ascii: "?")
        if u[i] == UInt8(ascii: "/") || isDeclaration { i += 1 }
        let nameStart = i
        while i < u.count, isAlnum(u[i]) { i += 1 }
        guard i > nameStart || isDeclaration else { return nil }
        let name = String(decoding: u[nameStart..<i], as: UTF8.self).asciiLowercased
        var quote: UInt8 = 0
        while i < u.count {
            let c = u[i]
            if quote != 0 {
                if c == quote { quote = 0 }
            } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                quote = c
            } else if c == UInt8(ascii: ">") {
                return (name, i + 1)
            }
            i += 1
        }
        return (name, u.count)
    }

    private static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A) || c == UInt8(ascii: ":") || c == UInt8(ascii: "-")
    }

    private static func find(_ u: [UInt8], _ needle: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, u.count >= needle.count, from <= u.count - needle.count else { return nil }
        var i = from
        while i <= u.count - needle.count {
            if u[i] == needle[0], Array(u[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }

    /// Collapses every run of whitespace (including CR, NBSP) to one space and trims the ends.
    static func collapseWhitespace(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        var pendingSpace = false
        for ch in s.unicodeScalars {
            if ch.properties.isWhitespace || ch == "\u{00A0}" {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.unicodeScalars.append(" "); pendingSpace = false }
                out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    static let namedEntities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "ndash": "–", "mdash": "—",
        "hellip": "…", "lsquo": "‘", "rsquo": "’", "ldquo": "“", "rdquo": "”", "copy": "©", "reg": "®",
        "trade": "™", "bull": "•", "middot": "·", "deg": "°", "rarr": "→", "larr": "←", "times": "×",
    ]

    /// Decodes named and numeric character references; unknown ones are left as written.
    static func decodeEntities(_ s: String) -> String {
        guard s.contains("&") else { return s }
        var out = ""
        var rest = Substring(s)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let after = rest[rest.index(after: amp)...]
            if let semi = after.prefix(12).firstIndex(of: ";"), let decoded = decodeEntity(after[..<semi]) {
                out += decoded
                rest = after[after.index(after: semi)...]
            } else {
                out += "&"
                rest = after
            }
        }
        return out + rest
    }

    private static func decodeEntity(_ name: Substring) -> String? {
        if name.hasPrefix("#") {
            let digits = name.dropFirst()
            let value: UInt32?
            if digits.hasPrefix("x") || digits.hasPrefix("X") {
                value = UInt32(digits.dropFirst(), radix: 16)
            } else {
                value = UInt32(digits, radix: 10)
            }
            guard let v = value, let scalar = Unicode.Scalar(v), v != 0 else { return nil }
            return String(Character(scalar))
        }
        return namedEntities[String(name)]
    }
}

extension String {
    fileprivate func replacingSpaces() -> String { String(map { $0 == " " ? "_" : $0 }) }
    fileprivate func replacingUnderscores() -> String { String(map { $0 == "_" ? " " : $0 }) }
}
