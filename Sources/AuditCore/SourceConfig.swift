import Foundation

/// Endpoints of the Azure cloud in use (config `cloud:`); sovereign clouds and the local
/// simulator change them. No trailing slash.
public struct CloudEndpoints: Sendable, Equatable {
    public var arm = "https://management.azure.com"
    public var login = "https://login.microsoftonline.com"
    public var logAnalytics = "https://api.loganalytics.io"

    public init() {}

    /// The token scope of ARM calls (`https://management.azure.com/.default`).
    public var armScope: String { Self.scope(of: arm, publicDefault: "https://management.azure.com") }
    public var logAnalyticsScope: String { Self.scope(of: logAnalytics, publicDefault: "https://api.loganalytics.io") }
    /// Storage tokens are requested for the storage resource, whatever the account.
    public static let storageScope = "https://storage.azure.com/.default"

    /// A loopback endpoint (the simulator) keeps the public scope: tokens are requested for the
    /// resource, not for the address it is reached at.
    static func scope(of endpoint: String, publicDefault: String) -> String {
        let lower = endpoint.lowercased()
        if lower.hasPrefix("http://127.") || lower.hasPrefix("http://localhost") || lower.hasPrefix("http://[::1]") { return publicDefault + "/.default" }
        return endpoint + "/.default"
    }
}

/// One value under a source in the config file, with the line it is on.
public struct SourceValue: Sendable, Equatable {
    public var line: Int
    /// A scalar (already `${VAR}`-expanded).
    public var string: String?
    /// A sequence of scalars (already expanded).
    public var list: [String]?

    public init(line: Int, string: String? = nil, list: [String]? = nil) {
        self.line = line
        self.string = string
        self.list = list
    }
}

/// One entry of `sources:`. The keys common to every source are parsed here; the rest are
/// kept with their lines for the collector of `type`, which declares which keys it takes.
public struct SourceConfig: Sendable {
    public var name: String
    public var type: String
    /// The config file and the line of this entry (`- name: …`).
    public var configPath: String
    public var line: Int
    /// Per-source overrides (fleets span tenants).
    public var tenant: String?
    public var auth: String?
    public var values: [String: SourceValue]
    /// The folder of the config file: relative paths in values are relative to it.
    public var baseDirectory: String

    public init(name: String, type: String, configPath: String, line: Int, tenant: String? = nil, auth: String? = nil, values: [String: SourceValue] = [:], baseDirectory: String = "") {
        self.name = name
        self.type = type
        self.configPath = configPath
        self.line = line
        self.tenant = tenant
        self.auth = auth
        self.values = values
        self.baseDirectory = baseDirectory
    }

    func error(_ key: String?, _ message: String) -> ConfigError {
        ConfigError(path: configPath, line: key.flatMap { values[$0]?.line } ?? line, message: "source '\(name)': " + message)
    }

    /// A scalar value; `required` missing → an error naming the source and the key.
    public func string(_ key: String, required: Bool = false) throws(ConfigError) -> String? {
        guard let v = values[key] else {
            if required { throw error(nil, "'\(key)' is required for type \(type)") }
            return nil
        }
        guard let s = v.string, !s.isEmpty else { throw error(key, "'\(key)' must be a single value") }
        return s
    }

    /// A list value; a single scalar is accepted as a list of one.
    public func strings(_ key: String, required: Bool = false) throws(ConfigError) -> [String] {
        guard let v = values[key] else {
            if required { throw error(nil, "'\(key)' is required for type \(type)") }
            return []
        }
        if let l = v.list { return l }
        if let s = v.string { return [s] }
        throw error(key, "'\(key)' must be a list")
    }

    /// A path relative to the config file's folder.
    public func path(_ p: String) -> String { Config.resolve(p, base: baseDirectory) }

    /// An error at `key`'s line (or the entry's).
    public func invalid(_ key: String?, _ message: String) -> ConfigError { error(key, message) }
}
