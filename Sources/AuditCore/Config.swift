import Foundation
import Yams

/// Errors in the config file: they name the file, line and key, and say what to do.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var message: String

    public init(path: String, line: Int?, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String {
        "\(path)\(line.map { ":\($0)" } ?? ""): \(message)"
    }
}

/// The YAML config file (contracts.md: top-level keys `database`, `cloud`, `tenant`, `auth`,
/// `sources`, `exports`, `queries_dirs`). Relative paths are resolved against the file's folder
/// (cron runs from `/`). `${VAR}` references are expanded from the environment; a variable that
/// is not set is an error naming it and the line.
///
/// ```yaml
/// tenant: ${AZURE_TENANT_ID}
/// auth: client-secret
/// cloud: {arm: https://management.usgovcloudapi.net}
/// sources:
///   - name: azure-status
///     type: status-feed
///     url: https://azure.status.microsoft/en-us/status/feed/
/// ```
///
/// Line numbers are 1-based, as editors show them (Yams marks are 1-based).
public struct Config: Sendable {
    public static let topLevelKeys = ["database", "cloud", "tenant", "auth", "sources", "exports", "queries_dirs"]
    /// `auth:` values (contracts.md), in the order the default chain tries the first three.
    public static let authMethods = ["client-secret", "workload-identity", "managed-identity", "azure-cli", "token-env"]
    /// Source `type:` values (contracts.md).
    public static let sourceTypes = [
        "activity-log", "activity-log-blobs", "diagnostics-blobs", "diagnostics-log-analytics", "status-feed", "rbac-snapshot", "sdk-versions",
    ]
    /// Keys of `cloud:`.
    public static let cloudKeys = ["arm", "login", "log_analytics"]
    /// Keys every source takes; a collector declares the others (`Collector.keys`).
    public static let sourceCommonKeys = ["name", "type", "tenant", "auth"]

    public var path: String?
    public var database: String?
    public var queriesDirs: [String] = []
    /// `cloud:` endpoints (defaults: the public cloud), without trailing slashes.
    public var cloud = CloudEndpoints()
    /// Default tenant of every source (a source may override it).
    public var tenant: String?
    /// Default `auth:` method of every source (one of `authMethods`; nil: the default chain).
    public var auth: String?
    /// `sources:` in file order. Keys beyond name/type/tenant/auth are checked against the
    /// collector of each type by `CollectorRegistry` (AuditCollect).
    public var sources: [SourceConfig] = []
    /// The raw YAML of every top-level section except `database` and `queries_dirs`
    /// (`exports` is read from here by `ExportConfig`).
    public var document: [String: String] = [:]

    public init() {}

    /// Loads and validates `path`.
    /// - Throws: `ConfigError` with the file, the 1-based line and what to change.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> Config {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(path: path, line: nil, message: "cannot read the config file; check the path (--config or AOAI_AUDIT_CONFIG)")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path, environment: environment)
    }

    /// Parses config `text` as if read from `path` (relative paths resolve against its folder).
    public static func parse(_ text: String, path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> Config {
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
        if node.scalar != nil, node.tag == Tag(.null) { return config }  // only comments
        guard let mapping = node.mapping else {
            throw ConfigError(path: path, line: node.mark.map { $0.line }, message: "the top level must be a mapping of keys (database:, sources:, …)")
        }
        let p = Parser(path: path, environment: environment, base: (path as NSString).deletingLastPathComponent)
        var seen: [String: Int] = [:]
        for (k, v) in mapping {
            guard let key = k.string else { continue }
            let line = p.line(k)
            guard topLevelKeys.contains(key) else {
                throw p.unknownKey(key, valid: topLevelKeys, line: line)
            }
            if let first = seen[key] {
                throw ConfigError(path: path, line: line, message: "'\(key)' appears twice (first at line \(first)); keep one")
            }
            seen[key] = line ?? 0
            switch key {
            case "database":
                config.database = resolve(try p.scalar(v, key: "database", what: "a path"), base: p.base)
            case "queries_dirs":
                let items: [Node]
                if let seq = v.sequence { items = Array(seq) } else { items = [v] }
                config.queriesDirs = try items.map { n throws(ConfigError) in
                    guard n.scalar != nil, n.tag != Tag(.null), let s = n.string else { throw ConfigError(path: path, line: p.line(n) ?? line, message: "'queries_dirs' must list folder paths") }
                    return resolve(try p.expand(s, key: "queries_dirs", line: p.line(n) ?? line), base: p.base)
                }
            case "tenant":
                if !p.isNull(v) { config.tenant = try p.scalar(v, key: "tenant", what: "a tenant id or domain") }
            case "auth":
                if !p.isNull(v) { config.auth = try p.auth(v, key: "auth") }
            case "cloud":
                config.cloud = try p.cloud(v, line: line)
            case "sources":
                config.sources = try p.sources(v, line: line)
            default:
                break
            }
            if key != "database" && key != "queries_dirs" { config.document[key] = (try? Yams.serialize(node: v)) ?? "" }
        }
        return config
    }

    /// `${VAR}` → the variable's value (empty when unset). Kept for callers that tolerate
    /// unset variables; the config loader uses the strict form.
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

    /// `${VAR}` → the variable's value; an unset variable (or a `${…}` that is not a variable
    /// name) is an error naming the key, the variable and the line. The value itself never
    /// appears in an error.
    public static func expandStrict(_ s: String, _ env: [String: String], path: String, line: Int?, key: String) throws(ConfigError) -> String {
        guard s.contains("${") else { return s }
        var out = ""
        var rest = Substring(s)
        while let r = rest.range(of: "${") {
            guard let end = rest[r.upperBound...].firstIndex(of: "}") else {
                throw ConfigError(path: path, line: line, message: "'\(key)': '${' without a closing '}'; write ${VARIABLE}")
            }
            let name = String(rest[r.upperBound..<end])
            guard isVariableName(name) else {
                throw ConfigError(path: path, line: line, message: "'\(key)': '${…}' must hold an environment variable name (letters, digits, _)")
            }
            guard let value = env[name] else {
                throw ConfigError(path: path, line: line, message: "'\(key)' refers to ${\(name)}, but the environment variable \(name) is not set; export it (or write the value)")
            }
            out += rest[..<r.lowerBound]
            out += value
            rest = rest[rest.index(after: end)...]
        }
        return out + rest
    }

    static func isVariableName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
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

    /// `unknown key 'x'; did you mean 'y'? (valid: …)` — the message part of an unknown-key error.
    public static func unknownKeyMessage(_ key: String, valid: [String], what: String = "key") -> String {
        let near = nearest(key, in: valid)
        return "unknown \(what) '\(key)'" + (near.map { "; did you mean '\($0)'?" } ?? "") + " (valid: \(valid.joined(separator: ", ")))"
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

// MARK: - Sections

extension Config {
    /// Reads nodes of one file: lines, strict `${VAR}` expansion, and the sections with structure.
    struct Parser {
        let path: String
        let environment: [String: String]
        /// The config file's folder.
        let base: String

        func line(_ n: Node) -> Int? { n.mark.map { $0.line } }

        func isNull(_ n: Node) -> Bool { n.scalar != nil && n.tag == Tag(.null) }

        func error(_ line: Int?, _ message: String) -> ConfigError { ConfigError(path: path, line: line, message: message) }

        func unknownKey(_ key: String, valid: [String], line: Int?, prefix: String = "", what: String = "key") -> ConfigError {
            error(line, prefix + Config.unknownKeyMessage(key, valid: valid, what: what))
        }

        func expand(_ s: String, key: String, line: Int?) throws(ConfigError) -> String {
            try Config.expandStrict(s, environment, path: path, line: line, key: key)
        }

        /// A single non-empty scalar, expanded.
        func scalar(_ n: Node, key: String, what: String, prefix: String = "") throws(ConfigError) -> String {
            guard n.scalar != nil, !isNull(n), let s = n.string else {
                throw error(line(n), prefix + "'\(key)' must be \(what)")
            }
            let v = try expand(s, key: key, line: line(n))
            guard !v.trimmingCharacters(in: .whitespaces).isEmpty else { throw error(line(n), prefix + "'\(key)' is empty; it must be \(what)") }
            return v
        }

        /// An `auth:` value, checked against the contract's methods.
        func auth(_ n: Node, key: String, prefix: String = "") throws(ConfigError) -> String {
            let v = try scalar(n, key: key, what: "one of \(Config.authMethods.joined(separator: ", "))", prefix: prefix)
            guard Config.authMethods.contains(v) else {
                let near = Config.nearest(v, in: Config.authMethods)
                throw error(line(n), prefix + "'\(key)': '\(v)' is not an auth method" + (near.map { "; did you mean '\($0)'?" } ?? "") + " (valid: \(Config.authMethods.joined(separator: ", ")))")
            }
            return v
        }

        func cloud(_ n: Node, line sectionLine: Int?) throws(ConfigError) -> CloudEndpoints {
            var cloud = CloudEndpoints()
            if isNull(n) { return cloud }
            guard let mapping = n.mapping else {
                throw error(line(n) ?? sectionLine, "'cloud' must be a mapping (arm:, login:, log_analytics:)")
            }
            var seen: Set<String> = []
            for (k, v) in mapping {
                guard let key = k.string else { continue }
                guard Config.cloudKeys.contains(key) else {
                    throw unknownKey(key, valid: Config.cloudKeys, line: line(k), prefix: "cloud: ")
                }
                guard seen.insert(key).inserted else { throw error(line(k), "'cloud.\(key)' appears twice; keep one") }
                let raw = try scalar(v, key: "cloud.\(key)", what: "an https:// URL")
                let url = try endpoint(raw, key: "cloud.\(key)", line: line(v) ?? line(k))
                switch key {
                case "arm": cloud.arm = url
                case "login": cloud.login = url
                default: cloud.logAnalytics = url
                }
            }
            return cloud
        }

        /// An http(s) URL without trailing slashes; plain http only to loopback (the simulator).
        func endpoint(_ raw: String, key: String, line: Int?) throws(ConfigError) -> String {
            var s = raw.trimmingCharacters(in: .whitespaces)
            while s.hasSuffix("/") { s.removeLast() }
            let lower = s.lowercased()
            let scheme = lower.hasPrefix("https://") ? "https://" : lower.hasPrefix("http://") ? "http://" : nil
            guard let scheme, s.count > scheme.count, !s.contains(" ") else {
                throw error(line, "'\(key)': '\(raw)' is not an http(s) URL (e.g. https://management.usgovcloudapi.net)")
            }
            if scheme == "http://" {
                let rest = lower.dropFirst(scheme.count)
                let loopback = rest.hasPrefix("127.") || rest.hasPrefix("localhost") || rest.hasPrefix("[::1]")
                guard loopback else {
                    throw error(line, "'\(key)': plain http:// is only allowed to loopback (127.0.0.1, ::1, localhost); use https://")
                }
            }
            return s
        }

        func sources(_ n: Node, line sectionLine: Int?) throws(ConfigError) -> [SourceConfig] {
            if isNull(n) { return [] }
            guard let seq = n.sequence else {
                throw error(line(n) ?? sectionLine, "'sources' must be a list of entries (- name: …  type: …)")
            }
            var out: [SourceConfig] = []
            var names: [String: Int] = [:]
            for item in seq {
                let s = try source(item, fallbackLine: sectionLine)
                if let first = names[s.name] {
                    throw error(s.line, "source name '\(s.name)' is used twice (first at line \(first)); names must be unique")
                }
                names[s.name] = s.line
                out.append(s)
            }
            return out
        }

        func source(_ n: Node, fallbackLine: Int?) throws(ConfigError) -> SourceConfig {
            let entryLine = line(n) ?? fallbackLine ?? 0
            guard let mapping = n.mapping else {
                throw error(entryLine, "each entry of 'sources' must be a mapping with name: and type: (and the keys of its type)")
            }
            var name: String?
            var type: String?
            var tenant: String?
            var auth: String?
            var values: [String: SourceValue] = [:]
            var seen: [String: Int] = [:]
            // The name first, so that every other error can say which source it is about.
            for (k, v) in mapping where k.string == "name" {
                name = try scalar(v, key: "name", what: "a name (used by --source and in status)")
            }
            let prefix = name.map { "source '\($0)': " } ?? ""
            for (k, v) in mapping {
                guard let key = k.string else { continue }
                let keyLine = line(k) ?? entryLine
                if let first = seen[key] {
                    throw error(keyLine, prefix + "'\(key)' appears twice (first at line \(first)); keep one")
                }
                seen[key] = keyLine
                switch key {
                case "name":
                    break
                case "type":
                    let t = try scalar(v, key: "type", what: "one of \(Config.sourceTypes.joined(separator: ", "))", prefix: prefix)
                    guard Config.sourceTypes.contains(t) else {
                        throw unknownKey(t, valid: Config.sourceTypes, line: line(v) ?? keyLine, prefix: prefix, what: "source type")
                    }
                    type = t
                case "tenant":
                    if !isNull(v) { tenant = try scalar(v, key: "tenant", what: "a tenant id or domain", prefix: prefix) }
                case "auth":
                    if !isNull(v) { auth = try self.auth(v, key: "auth", prefix: prefix) }
                default:
                    values[key] = try value(v, key: key, line: keyLine, prefix: prefix)
                }
            }
            guard let name else {
                throw error(entryLine, "a source has no 'name:'; give each source a unique name")
            }
            guard let type else {
                throw error(entryLine, prefix + "'type' is required (one of \(Config.sourceTypes.joined(separator: ", ")))")
            }
            return SourceConfig(name: name, type: type, configPath: path, line: entryLine, tenant: tenant, auth: auth, values: values, baseDirectory: base)
        }

        /// A scalar or a sequence of scalars, expanded; anything else is an error at its line.
        func value(_ v: Node, key: String, line keyLine: Int, prefix: String) throws(ConfigError) -> SourceValue {
            if isNull(v) {
                throw error(keyLine, prefix + "'\(key)' has no value; give one or remove the key")
            }
            if v.scalar != nil, let s = v.string {
                return SourceValue(line: keyLine, string: try expand(s, key: key, line: line(v) ?? keyLine))
            }
            if let seq = v.sequence {
                var list: [String] = []
                for item in seq {
                    guard item.scalar != nil, !isNull(item), let s = item.string else {
                        throw error(line(item) ?? keyLine, prefix + "'\(key)' must list plain values (one per line: - value)")
                    }
                    list.append(try expand(s, key: key, line: line(item) ?? keyLine))
                }
                return SourceValue(line: keyLine, list: list)
            }
            throw error(keyLine, prefix + "'\(key)' must be a value or a list of values, not a mapping")
        }
    }
}
