import AuditCore

/// The table of collectors: config `type:` → the collector that runs it.
///
/// ```swift
/// let collector = try CollectorRegistry.make(config.sources[0])  // throws ConfigError at the key's line
/// ```
public enum CollectorRegistry {
    // Registered collectors: add each new collector type here.
    public static let all: [any Collector.Type] = [
        ActivityLogCollector.self,
        ActivityLogBlobsCollector.self,
        DiagnosticsBlobsCollector.self,
        LogAnalyticsCollector.self,
        StatusFeedCollector.self,
        RBACSnapshotCollector.self,
        SDKVersionsCollector.self,
    ]

    /// The `type:` values this build can collect, in registry order.
    public static var types: [String] { all.map { $0.type } }

    static func type(named name: String) -> (any Collector.Type)? {
        all.first { $0.type == name }
    }

    /// The collector type of `source`, after checking its keys against that type's keys.
    /// - Throws: `ConfigError` at the line of an unknown key, naming the nearest key valid for
    ///   this type; or at the entry's line when the type has no collector in this build.
    public static func validate(_ source: SourceConfig) throws(ConfigError) -> any Collector.Type {
        guard let t = type(named: source.type) else {
            throw source.invalid(nil, "type '\(source.type)' has no collector in this build (available: \(types.joined(separator: ", "))); load its exported files with `aoai-audit import` meanwhile")
        }
        let valid = Config.sourceCommonKeys + t.keys
        // In file order, so the first wrong key is the one reported.
        for (key, value) in source.values.sorted(by: { ($0.value.line, $0.key) < ($1.value.line, $1.key) }) where !t.keys.contains(key) {
            let near = Config.nearest(key, in: valid)
            throw ConfigError(path: source.configPath, line: value.line,
                              message: "source '\(source.name)': unknown key '\(key)' for type \(source.type)" + (near.map { "; did you mean '\($0)'?" } ?? "")
                                + " (valid: \(valid.joined(separator: ", ")))")
        }
        return t
    }

    /// Validates `source` and builds its collector.
    public static func make(_ source: SourceConfig) throws(ConfigError) -> any Collector {
        let t = try validate(source)
        return try t.init(source: source)
    }
}
