import AuditCore
import Foundation

extension LockfileParsers {
    /// The subset of TOML that lockfiles and `pyproject.toml` use: table headers, dotted and
    /// quoted keys, basic/literal (and multi-line) strings, multi-line arrays and inline tables.
    ///
    /// It does not build a document: it yields statements in order and leaves value text raw,
    /// so readers interpret only the few values they need.
    enum TOML {
        /// One statement of a TOML document.
        enum Statement: Equatable {
            /// `[a.b]` (`isArray` false) or `[[a.b]]` (true), key parts unquoted.
            case header([String], isArray: Bool)
            /// `key = value`; the value is the raw text (arrays may span lines).
            case pair(key: [String], value: String)
        }

        /// The statements of `text`, comments removed.
        static func statements(_ text: String) -> [Statement] {
            var out: [Statement] = []
            var pendingKey: [String]?
            var pendingValue = ""
            for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
                if let key = pendingKey {
                    pendingValue += "\n" + String(rawLine)
                    if isComplete(pendingValue) {
                        out.append(.pair(key: key, value: stripComment(pendingValue).trimmingSpaces))
                        pendingKey = nil
                    }
                    continue
                }
                let line = stripComment(String(rawLine)).trimmingSpaces
                if line.isEmpty { continue }
                if line.hasPrefix("[[") && line.hasSuffix("]]") {
                    out.append(.header(splitKey(String(line.dropFirst(2).dropLast(2))), isArray: true))
                } else if line.hasPrefix("[") && line.hasSuffix("]") {
                    out.append(.header(splitKey(String(line.dropFirst().dropLast())), isArray: false))
                } else if let eq = equalsOutsideQuotes(line) {
                    let key = splitKey(String(line[..<eq]))
                    let value = String(line[line.index(after: eq)...])
                    if isComplete(value) {
                        out.append(.pair(key: key, value: value.trimmingSpaces))
                    } else {
                        pendingKey = key
                        pendingValue = value
                    }
                }
            }
            if let key = pendingKey { out.append(.pair(key: key, value: stripComment(pendingValue).trimmingSpaces)) }
            return out
        }

        /// The value of a string literal (basic, literal or multi-line); nil for other values.
        static func string(_ value: String) -> String? {
            let v = value.trimmingSpaces
            for q in ["\"\"\"", "'''"] where v.hasPrefix(q) && v.hasSuffix(q) && v.count >= 6 {
                var body = String(v.dropFirst(3).dropLast(3))
                if body.hasPrefix("\n") { body.removeFirst() }
                return q == "'''" ? body : unescape(body)
            }
            guard v.count >= 2, let first = v.first, first == "\"" || first == "'", v.last == first else { return nil }
            let body = String(v.dropFirst().dropLast())
            return first == "'" ? body : unescape(body)
        }

        /// The string items of an array value (items inside nested inline tables are skipped).
        static func strings(inArray value: String) -> [String] {
            var out: [String] = []
            var braces = 0
            var i = value.startIndex
            while i < value.endIndex {
                let c = value[i]
                if c == "{" { braces += 1 } else if c == "}" { braces -= 1 }
                if c == "\"" || c == "'", let end = closingQuote(in: value, from: i) {
                    if braces == 0, let s = string(String(value[i...end])) { out.append(s) }
                    i = value.index(after: end)
                    continue
                }
                i = value.index(after: i)
            }
            return out
        }

        /// The `version` member of an inline table (or of the first inline table of an array of
        /// them, Poetry's multiple-constraints form).
        static func inlineTableVersion(_ value: String) -> String? {
            var searchFrom = value.startIndex
            while let r = value.range(of: "version", range: searchFrom..<value.endIndex) {
                searchFrom = r.upperBound
                if r.lowerBound > value.startIndex {
                    let before = value[value.index(before: r.lowerBound)]
                    guard before == "{" || before == "," || before == " " || before == "\t" || before == "\n" else {
                        continue
                    }
                }
                let rest = value[r.upperBound...].drop(while: { $0 == " " || $0 == "\t" })
                guard rest.first == "=" else { continue }
                let literal = rest.dropFirst().drop(while: { $0 == " " || $0 == "\t" })
                guard let open = literal.first, open == "\"" || open == "'",
                    let end = closingQuote(in: value, from: literal.startIndex)
                else { continue }
                return string(String(value[literal.startIndex...end]))
            }
            return nil
        }

        // MARK: - Lexing helpers

        /// The index of the quote closing the string that opens at `start`.
        private static func closingQuote(in s: String, from start: String.Index) -> String.Index? {
            let quote = s[start]
            var i = s.index(after: start)
            while i < s.endIndex {
                if s[i] == "\\" && quote == "\"" {
                    i = s.index(after: i)
                    if i < s.endIndex { i = s.index(after: i) }
                    continue
                }
                if s[i] == quote { return i }
                i = s.index(after: i)
            }
            return nil
        }

        /// Whether brackets and braces balance and no string is left open (a value may continue).
        private static func isComplete(_ value: String) -> Bool {
            var depth = 0
            var i = value.startIndex
            while i < value.endIndex {
                let c = value[i]
                if c == "#" {  // comment to end of line
                    i = value[i...].firstIndex(of: "\n") ?? value.endIndex
                    continue
                }
                if c == "\"" || c == "'" {
                    let triple = String(repeating: c, count: 3)
                    if value[i...].hasPrefix(triple) {
                        let bodyStart = value.index(i, offsetBy: 3)
                        guard let close = value.range(of: triple, range: bodyStart..<value.endIndex) else {
                            return false
                        }
                        i = close.upperBound
                        continue
                    }
                    guard let end = closingQuote(in: value, from: i) else { return false }
                    i = value.index(after: end)
                    continue
                }
                if c == "[" || c == "{" { depth += 1 } else if c == "]" || c == "}" { depth -= 1 }
                i = value.index(after: i)
            }
            return depth <= 0
        }

        /// The text before a `#` that is outside strings.
        private static func stripComment(_ text: String) -> String {
            var lines: [String] = []
            for part in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let line = String(part)
                var i = line.startIndex
                var cut = line.endIndex
                while i < line.endIndex {
                    if line[i] == "#" { cut = i; break }
                    if line[i] == "\"" || line[i] == "'", let end = closingQuote(in: line, from: i) {
                        i = line.index(after: end)
                        continue
                    }
                    i = line.index(after: i)
                }
                lines.append(String(line[..<cut]))
            }
            return lines.joined(separator: "\n")
        }

        /// The position of the first `=` outside quotes.
        private static func equalsOutsideQuotes(_ line: String) -> String.Index? {
            var i = line.startIndex
            while i < line.endIndex {
                if line[i] == "=" { return i }
                if line[i] == "\"" || line[i] == "'", let end = closingQuote(in: line, from: i) {
                    i = line.index(after: end)
                    continue
                }
                i = line.index(after: i)
            }
            return nil
        }

        /// `a."b.c" . d` → [`a`, `b.c`, `d`].
        private static func splitKey(_ key: String) -> [String] {
            var parts: [String] = []
            var current = ""
            var i = key.startIndex
            while i < key.endIndex {
                let c = key[i]
                if (c == "\"" || c == "'"), let end = closingQuote(in: key, from: i) {
                    current += string(String(key[i...end])) ?? ""
                    i = key.index(after: end)
                    continue
                }
                if c == "." {
                    parts.append(current.trimmingSpaces)
                    current = ""
                } else {
                    current.append(c)
                }
                i = key.index(after: i)
            }
            parts.append(current.trimmingSpaces)
            return parts
        }

        /// Basic-string escapes: `\"`, `\\`, `\n`, `\t`, `\r`, `\uXXXX`, `\UXXXXXXXX`.
        private static func unescape(_ s: String) -> String {
            guard s.contains("\\") else { return s }
            var out = ""
            var it = s.makeIterator()
            while let c = it.next() {
                guard c == "\\", let e = it.next() else { out.append(c); continue }
                switch e {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "u", "U":
                    var hex = ""
                    for _ in 0..<(e == "u" ? 4 : 8) { if let h = it.next() { hex.append(h) } }
                    if let v = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(v) {
                        out.unicodeScalars.append(scalar)
                    }
                default: out.append(e)
                }
            }
            return out
        }
    }
}
