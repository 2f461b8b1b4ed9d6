import Foundation
import AuditCore

/// A search request.
public struct SearchRequest: Sendable {
    public var text: String
    public var kinds: [String] = []
    public var sinceUs: Int64?
    public var untilUs: Int64?
    /// A canonical ARM id or an account name.
    public var resource: String?
    public var limit: Int = 20

    public init(text: String) { self.text = text }
}

/// One hit: newest first, with a highlighted snippet.
public struct SearchHit: Sendable, Equatable {
    public var timeUs: Int64
    public var kind: String
    public var refID: Int64
    public var title: String
    public var snippet: String
    public var resource: String
}

/// The searchable kinds (`probe`: a failing `aoai-audit probe`, first of its class in a series).
public enum SearchKind {
    public static let all = ["activity", "request", "change", "incident", "probe"]
}

extension Database {
    /// Turns what a user typed into a safe FTS5 expression: every word becomes a quoted
    /// phrase (so quotes, hyphens, colons and GUIDs are never FTS syntax), words are ANDed;
    /// a trailing `*` on a word is kept as a prefix query. Returns nil when nothing is left.
    public static func ftsExpression(_ text: String) -> String? {
        var terms: [String] = []
        for raw in text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
            var word = String(raw)
            var prefix = false
            if word.hasSuffix("*") { prefix = true; word.removeLast() }
            // Keep only characters the tokenizer would index; drop pure punctuation words.
            guard word.unicodeScalars.contains(where: { $0.properties.isAlphabetic || ("0"..."9").contains($0) }) else { continue }
            let quoted = "\"" + word.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            terms.append(prefix ? quoted + " *" : quoted)
        }
        return terms.isEmpty ? nil : terms.joined(separator: " ")
    }

    /// Full-text search, newest first. FTS5 walks its index in descending rowid (= time)
    /// order, so the first `limit` matches are found without sorting all of them.
    public func search(_ req: SearchRequest) throws(StoreError) -> [SearchHit] {
        guard var expr = Self.ftsExpression(req.text) else { return [] }
        if let r = req.resource {
            // Narrow inside the full-text index first (the resource column holds the account
            // name), so a rare resource does not mean scanning every match of a common term.
            let name = ResourceID(r).shortName
            guard let nameExpr = Self.ftsExpression(name) else { return [] }
            expr = "(\(expr)) AND resource : (\(nameExpr))"
        }
        var sql = """
            SELECT f.rowid, f.kind, d.ref_id, f.title,
              snippet(search_fts, -1, '[', ']', '…', 12), f.resource
            FROM search_fts f JOIN search_docs d ON d.rowid = f.rowid
            WHERE search_fts MATCH ?1
            """
        var binds: [SQLValue] = [.text(expr)]
        if let s = req.sinceUs { sql += " AND f.rowid >= ?\(binds.count + 1)"; binds.append(.integer(s << 8)) }
        if let u = req.untilUs { sql += " AND f.rowid < ?\(binds.count + 1)"; binds.append(.integer(u << 8)) }
        if !req.kinds.isEmpty {
            sql += " AND f.kind IN (" + req.kinds.map { k in binds.append(.text(k)); return "?\(binds.count)" }.joined(separator: ",") + ")"
        }
        if let r = req.resource {
            let canonical = ResourceID.argument(r)
            binds.append(.text(canonical))
            sql += " AND d.resource IN (SELECT id FROM dims WHERE kind = 'resource' AND (value = ?\(binds.count) OR value LIKE '%/' || ?\(binds.count)))"
        }
        binds.append(.integer(Int64(max(1, req.limit))))
        sql += " ORDER BY f.rowid DESC LIMIT ?\(binds.count)"
        let rows: [[SQLValue]]
        do {
            rows = try connection.rows(sql, binds)
        } catch {
            if case .sqlite(_, let message, _) = error, message.contains("fts5") {
                throw .badParameter(name: "text", message: "cannot search for '\(req.text)': \(message)")
            }
            throw error
        }
        return rows.map { r in
            SearchHit(timeUs: (r[0].integer ?? 0) >> 8, kind: r[1].text ?? "", refID: r[2].integer ?? 0, title: r[3].text ?? "",
                      snippet: r[4].text ?? "", resource: r[5].text ?? "")
        }
    }
}
