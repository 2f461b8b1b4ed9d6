import Foundation
/// Errors from the store. `errorDescription` is the sentence a user sees: what failed, on
/// what, and what to do. Bound values never appear in it (they may hold private data).
public enum StoreError: Error, Sendable, Equatable {
    case sqlite(code: Int32, message: String, sql: String?)
    case cannotOpen(path: String, message: String)
    case fts5Unavailable
    case notOurDatabase(path: String)
    case newerSchema(path: String, found: Int, supported: Int)
    case corrupt(path: String, message: String)
    case readOnlyViolation(message: String)
    case migrationFailed(name: String, message: String)
    case unknownQuery(name: String, available: [String])
    case badParameter(name: String, message: String)
}

extension StoreError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .sqlite(let code, let message, let sql):
            let where_ = sql.map { " while running `\(Self.shorten($0))`" } ?? ""
            return "SQLite error \(code): \(message)\(where_)"
        case .cannotOpen(let path, let message):
            return "cannot open database \(path): \(message); check the path and its folder's permissions"
        case .fts5Unavailable:
            return "this SQLite library was built without FTS5; install a libsqlite3 with FTS5 (Debian's libsqlite3-0 has it)"
        case .notOurDatabase(let path):
            return "\(path) is an SQLite database that aoai-audit did not create; pass another --db path"
        case .newerSchema(let path, let found, let supported):
            return "\(path) has schema version \(found) but this aoai-audit knows only up to \(supported); upgrade aoai-audit (nothing was written)"
        case .corrupt(let path, let message):
            return "\(path) is not a readable database (\(message)); restore it from a backup or pass another --db path"
        case .readOnlyViolation(let message):
            return "query connections are read-only: \(message); use import/collect to change data"
        case .migrationFailed(let name, let message):
            return "migration \(name) failed: \(message); the database was left at the previous version"
        case .unknownQuery(let name, let available):
            return "no named query '\(name)'; try one of: \(available.joined(separator: ", ")) (aoai-audit query --list)"
        case .badParameter(let name, let message):
            return "parameter '\(name)': \(message)"
        }
    }

    static func shorten(_ sql: String) -> String {
        let oneLine = sql.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        return oneLine.count > 160 ? String(oneLine.prefix(160)) + "…" : oneLine
    }
}
