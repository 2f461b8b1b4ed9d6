import Foundation
import Yams

/// Errors in the config file: they name the file, line and key, and say what to do.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var message: String

    public var description: String {
        "\(path)\(line.map { ":\($0)" } ?? ""): \(message)"
    }
}

/// The YAML config file (contracts.md: top-level keys `database`, `cloud`, `tenant`, `auth`,
/// `sources`, `exports`, `queries_dirs`). Relative paths are resolved against the file's folder
/// (cron runs from `/`). `${VAR}` references are expanded from the environment.
public struct Config: Sendable {
    public static let topLevelKeys = ["database", "cloud", "tenant", "auth", "sources", "exports", "queries_dirs"]

    public var path: String?
    public var database: String?
    public var queriesDirs: [String] = []
    /// The raw document for the sections later features read (sources, exports, cloud…).
    public var document: [String: String] = [:]

    public init() {}

    /// Loads and validates `path`.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> Config {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(path: path, line: nil, message: "cannot read the config file; check the path (--config or AOAI_AUDIT_CONFIG)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let e as YamlError {
            throw ConfigError(path: path, line: Self.line(of: e), message: "not valid YAML: \(Self.summary(of: e))")
        } catch {
            throw ConfigError(path: path, line: nil, message: "not valid YAML: \(error)")
        }
        var config = Config()
        config.path = path
        guard let node else { return config }  // empty file
        guard let mapping = node.mapping else {
            throw ConfigError(path: path, line: node.mark.map { $0.line }, message: "the top level must be a mapping of keys (database:, sources:, …)")
        }
        let base = (path as NSString).deletingLastPathComponent
        for (k, v) in mapping {
            guard let key = k.string else { continue }
            let line = k.mark.map { $0.line }
            guard topLevelKeys.contains(key) else {
                let near = nearest(key, in: topLevelKeys)
                throw ConfigError(path: path, line: line, message: "unknown key '\(key)'" + (near.map { "; did you mean '\($0)'?" } ?? "") + " (valid: \(topLevelKeys.joined(separator: ", ")))")
            }
            switch key {
            case "database":
                guard let s = v.string else { throw ConfigError(path: path, line: line, message: "'database' must be a path") }
                config.database = resolve(expand(s, environment), base: base)
            case "queries_dirs":
                let items: [Node]
                if let seq = v.sequence { items = Array(seq) } else { items = [v] }
                config.queriesDirs = try items.map { n throws(ConfigError) in
                    guard let s = n.string else { throw ConfigError(path: path, line: n.mark.map { $0.line }, message: "'queries_dirs' must list folder paths") }
                    return resolve(expand(s, environment), base: base)
                }
            default:
                config.document[key] = (try? Yams.serialize(node: v)) ?? ""
            }
        }
        return config
    }

    /// `${VAR}` → the variable's value (empty when unset).
    public static func expand(_ s: String, _ env: [String: String]) -> String {
        guard s.contains("${") else { return s }
        var out = ""
        var rest = Substring(s)
        while let r = rest.range(of: "${"), let end = rest[r.upperBound...].firstIndex(of: "}") {
            out += rest[..<r.lowerBound]
            out += env[String(rest[r.upperBound..<end])] ?? ""
            rest = rest[rest.index(after: end)...]
        }
        return out + rest
    }

    static func resolve(_ p: String, base: String) -> String {
        if p.hasPrefix("/") || base.isEmpty { return p }
        if p.hasPrefix("~/") { return NSHomeDirectory() + String(p.dropFirst(1)) }
        return URL(fileURLWithPath: base).appendingPathComponent(p).standardizedFileURL.path
    }

    /// The closest valid key by edit distance, when it is close enough to be a typo.
    public static func nearest(_ key: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(key.lowercased(), $0)) }.min { $0.1 < $1.1 }
        guard let (best, d) = scored, d <= max(2, best.count / 3) else { return nil }
        return best
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        for i in 1...a.count {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }

    static func line(of e: YamlError) -> Int? {
        switch e {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return nil
        }
    }

    static func summary(of e: YamlError) -> String {
        switch e {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): return problem
        default: return "\(e)"
        }
    }
}
