/// Plain text from the HTML that status feeds and ServiceHealth communications carry.
public enum HTMLText {
    /// Strips tags, decodes the common entities, collapses whitespace, caps at `limit` characters.
    public static func plain(_ html: String, limit: Int = 4000) -> String {
        var out = ""
        out.reserveCapacity(min(html.utf8.count, limit))
        var inTag = false
        var tag = ""
        for ch in html {
            if inTag {
                if ch == ">" {
                    inTag = false
                    let name = tag.lowercased().split(whereSeparator: { $0 == " " || $0 == "/" }).first.map(String.init) ?? ""
                    if ["p", "br", "li", "div", "tr", "h1", "h2", "h3", "h4", "ul", "ol", "table"].contains(name) { out += " " }
                    tag = ""
                } else {
                    tag.append(ch)
                }
                continue
            }
            if ch == "<" { inTag = true; continue }
            out.append(ch)
        }
        var s = decodeEntities(out)
        s = s.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" || $0 == "\u{00A0}" }).joined(separator: " ")
        return s.count > limit ? String(s.prefix(limit - 1)) + "…" : s
    }

    static let entities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "#39": "'", "ndash": "–", "mdash": "—",
        "rsquo": "’", "lsquo": "‘", "rdquo": "”", "ldquo": "“", "hellip": "…",
    ]

    /// Decodes named and numeric character references.
    public static func decodeEntities(_ s: String) -> String {
        guard s.contains("&") else { return s }
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            if s[i] == "&", let semi = s[i...].prefix(10).firstIndex(of: ";") {
                let name = String(s[s.index(after: i)..<semi])
                if let rep = entities[name] {
                    out += rep; i = s.index(after: semi); continue
                }
                if name.hasPrefix("#") {
                    let num = name.dropFirst()
                    let v = num.hasPrefix("x") || num.hasPrefix("X") ? UInt32(num.dropFirst(), radix: 16) : UInt32(num)
                    if let v, let u = Unicode.Scalar(v) { out.unicodeScalars.append(u); i = s.index(after: semi); continue }
                }
            }
            out.append(s[i])
            i = s.index(after: i)
        }
        return out
    }
}
