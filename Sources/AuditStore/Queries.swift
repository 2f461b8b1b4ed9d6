import AuditCore
import AuditSQL
import Foundation

/// The named queries available: built-ins plus user folders (a user query with a built-in's
/// name shadows it).
public struct QueryCatalog: Sendable {
    public var queries: [NamedQuery]
    /// Names of built-ins shadowed by user queries.
    public var shadowed: [String]

    public init(extraDirectories: [String] = []) throws(StoreError) {
        var byName: [String: NamedQuery] = [:]
        var order: [String] = []
        for (file, sql) in SQLFiles.queries {
            let fallback = String(file.dropLast(4))
            if let q = NamedQuery.parse(sql, origin: "built-in", fallbackName: fallback) {
                if byName[q.name] == nil { order.append(q.name) }
                byName[q.name] = q
            }
        }
        var shadowed: [String] = []
        for dir in extraDirectories {
            guard let files = try? FileManager.default.contentsOfDirectory(atPath: dir) else {
                throw .badParameter(name: "queries_dirs", message: "cannot read the folder \(dir)")
            }
            for f in files.sorted() where f.hasSuffix(".sql") {
                let path = (dir as NSString).appendingPathComponent(f)
                guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                      let q = NamedQuery.parse(text, origin: path, fallbackName: String(f.dropLast(4))) else { continue }
                if let old = byName[q.name], old.origin == "built-in" { shadowed.append(q.name) }
                if byName[q.name] == nil { order.append(q.name) }
                byName[q.name] = q
            }
        }
        queries = order.compactMap { byName[$0] }
        self.shadowed = shadowed
    }

    public func query(named name: String) throws(StoreError) -> NamedQuery {
        guard let q = queries.first(where: { $0.name == name }) else { throw .unknownQuery(name: name, available: queries.map(\.name)) }
        return q
    }
}

extension Database {
    /// Runs SQL on this (read-only) connection with named bindings. Only statements that
    /// do not write are allowed: a write is refused before it runs.
    public func run(sql: String, bindings: [String: SQLValue] = [:], limit: Int? = nil) throws(StoreError) -> QueryResult {
        let s = try connection.prepare(sql, cached: false)
        guard s.isReadOnly else { throw .readOnlyViolation(message: "the statement would change the database") }
        for (i, name) in s.parameterNames.enumerated() {
            guard let name else { continue }
            let key = String(name.dropFirst())
            try s.bind(bindings[key] ?? .null, at: Int32(i + 1))
        }
        var rows: [[SQLValue]] = []
        while try s.step() {
            rows.append(s.row())
            if let limit, rows.count >= limit { break }
        }
        return QueryResult(columns: s.columnNames, rows: rows)
    }
}
