import Foundation
import Yams

/// The `exports:` section of the config file (contracts.md):
/// `{dir, schedule, weekday, keep, format, compress}`. Values are checked where they are used
/// (the export command), so a wrong value is reported with the option it feeds.
public struct ExportConfig: Sendable, Equatable {
    public static let keys = ["dir", "schedule", "weekday", "keep", "format", "compress"]

    /// The output folder, resolved against the config file's folder.
    public var dir: String?
    public var schedule: String?
    public var weekday: String?
    public var keep: String?
    public var format: String?
    public var compress: String?

    public init() {}

    /// Reads `config.document["exports"]`; an absent section gives all nil.
    /// - Throws: `ConfigError` naming an unknown key and the nearest valid one.
    public init(config: Config?, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) {
        self.init()
        guard let config, let text = config.document["exports"] else { return }
        let path = config.path ?? "config"
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw ConfigError(path: path, line: nil, message: "'exports' is not valid YAML") }
        guard let node, !(node.scalar?.string.isEmpty ?? false), node.scalar?.string != "null" else { return }
        guard let mapping = node.mapping else {
            throw ConfigError(path: path, line: nil, message: "'exports' must be a mapping (dir:, keep:, format:, compress:, schedule:, weekday:)")
        }
        let base = ((config.path ?? "") as NSString).deletingLastPathComponent
        for (k, v) in mapping {
            guard let key = k.string else { continue }
            guard Self.keys.contains(key) else {
                let near = Config.nearest(key, in: Self.keys)
                throw ConfigError(path: path, line: nil, message: "unknown key 'exports.\(key)'" + (near.map { "; did you mean '\($0)'?" } ?? "") + " (valid: \(Self.keys.joined(separator: ", ")))")
            }
            guard let s = v.string.map({ Config.expand($0, environment) }) else {
                throw ConfigError(path: path, line: nil, message: "'exports.\(key)' must be a single value")
            }
            switch key {
            case "dir": dir = Config.resolve(s, base: base)
            case "schedule": schedule = s
            case "weekday": weekday = s
            case "keep": keep = s
            case "format": format = s
            default: compress = s
            }
        }
    }
}
