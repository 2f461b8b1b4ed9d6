import AuditCore

/// A documented, parameterised query from `queries/*.sql` (built in) or a user folder.
///
/// Header lines:
/// ```sql
/// -- name: auth_failures_by_hour
/// -- description: 401/403 failures per resource and hour.
/// -- param: since time 7d Start of the window (inclusive).
/// -- param: resource resource - ARM id or account name; all when omitted.
/// ```
/// A param line is `name type default description`; types are `time`, `int`, `text` and
/// `resource`; a default of `-` means "not set" (NULL).
public struct NamedQuery: Sendable, Equatable {
    public struct Param: Sendable, Equatable {
        public var name: String
        public var type: String
        public var defaultValue: String?
        public var description: String
    }

    public var name: String
    public var description: String
    public var params: [Param]
    public var sql: String
    /// Where it came from: "built-in" or a file path.
    public var origin: String

    /// Parses a query file; nil when it has no `-- name:` header.
    public static func parse(_ text: String, origin: String, fallbackName: String) -> NamedQuery? {
        var name: String?
        var description = ""
        var params: [Param] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let t = line.trimmingSpaces
            guard t.hasPrefix("--") else { if !t.isEmpty { break } else { continue } }
            let body = t.dropFirst(2).trimmingSpaces
            if body.hasPrefix("name:") {
                name = body.dropFirst(5).trimmingSpaces
            } else if body.hasPrefix("description:") {
                let d = body.dropFirst(12).trimmingSpaces
                description = description.isEmpty ? d : description + " " + d
            } else if body.hasPrefix("param:") {
                let parts = body.dropFirst(6).trimmingSpaces.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true).map(String.init)
                guard parts.count >= 2 else { continue }
                let def = parts.count > 2 && parts[2] != "-" ? parts[2] : nil
                params.append(Param(name: parts[0], type: parts[1], defaultValue: def, description: parts.count > 3 ? parts[3] : ""))
            }
        }
        return NamedQuery(name: name ?? fallbackName, description: description, params: params, sql: text, origin: origin)
    }

    /// Converts user-given `k=v` values (plus defaults) into bindings by parameter name.
    public func bindings(_ given: [String: String], now: Int64) throws(StoreError) -> [String: SQLValue] {
        let known = Set(params.map(\.name))
        for k in given.keys where !known.contains(k) {
            let list = params.map(\.name).joined(separator: ", ")
            throw .badParameter(name: k, message: "query '\(name)' has no such parameter; it takes: \(list.isEmpty ? "none" : list)")
        }
        var out: [String: SQLValue] = [:]
        for p in params {
            guard let raw = given[p.name] ?? p.defaultValue else { out[p.name] = .null; continue }
            switch p.type {
            case "time":
                if raw == "now" { out[p.name] = .integer(now); continue }
                guard let us = TimeArgument.parse(raw, now: now) else {
                    throw .badParameter(name: p.name, message: "'\(raw)' is not a time; use an ISO date/time (2026-11-23, 2026-11-23T04:00:00Z) or a duration (7d, 36h, 90m)")
                }
                out[p.name] = .integer(us)
            case "int":
                guard let v = Int64(raw) else { throw .badParameter(name: p.name, message: "'\(raw)' is not an integer") }
                out[p.name] = .integer(v)
            case "resource":
                out[p.name] = .text(ResourceID.argument(raw))
            default:
                out[p.name] = .text(raw)
            }
        }
        return out
    }
}
