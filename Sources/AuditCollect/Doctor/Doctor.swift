import AuditCore
import AuditNet
import AuditStore
import Foundation

/// What `doctor` needs from its caller: where the config and the database are, the process
/// environment, the HTTP client and the credentials (injectable for tests).
public struct DoctorOptions: Sendable {
    /// The config file (`--config`, `AOAI_AUDIT_CONFIG`, `./aoai-audit.yaml`); nil: none.
    public var configPath: String?
    /// `--db` or `AOAI_AUDIT_DB`; nil: the config's `database:`, else `./aoai-audit.db`.
    public var databasePath: String?
    public var environment: [String: String]
    public var http: any HTTPTransport
    /// Token providers for the loaded config (nil: `Credentials.make` with the config's login
    /// endpoint, the environment and `http`).
    public var credentials: (@Sendable (Config) -> CredentialsFactory)?
    /// UTC microseconds.
    public var now: @Sendable () -> Int64
    /// Free bytes of the file system holding a folder (nil: unknown).
    public var freeBytes: @Sendable (String) -> Int64?
    /// Databases larger than this get `PRAGMA quick_check` instead of the full `integrity_check`.
    public var quickCheckAbove: Int64 = 2 << 30

    public init(configPath: String?, databasePath: String?, environment: [String: String], http: any HTTPTransport,
                credentials: (@Sendable (Config) -> CredentialsFactory)? = nil,
                now: @escaping @Sendable () -> Int64 = { TimeArgument.nowMicros() },
                freeBytes: @escaping @Sendable (String) -> Int64? = { DoctorChecks.freeBytes(at: $0) }) {
        self.configPath = configPath
        self.databasePath = databasePath
        self.environment = environment
        self.http = http
        self.credentials = credentials
        self.now = now
        self.freeBytes = freeBytes
    }
}

/// `aoai-audit doctor`: why the tool itself is not working, in one run. Checks, in order:
///
/// 1. **config** — parses, and every source's keys and values pass its collector (file:line);
/// 2. **credentials** — per distinct (`auth:`, tenant) that sources needing Azure tokens use: a
///    token for each scope they need (ARM, storage, Log Analytics), decoded: audience, expiry,
///    tenant, client/object id, roles or scopes;
/// 3. **endpoint** — every distinct host in use answers (any HTTP status will do);
/// 4. **permissions** — per source: Activity Log read and RBAC reads through ARM's
///    permissions API (wildcards and `notActions` applied), List Blobs with `maxresults=1`,
///    the Log Analytics query `print 1`, the status feed's GET, the repositories;
/// 5. **database** — `integrity_check` (`quick_check` on big files), the FTS5 index's
///    integrity check, the schema version against this binary's, the file mode 0600;
/// 6. **source** — per source: the last run's error, and data more than 2 days behind;
/// 7. **disk** — free space where the database lives (warn < 1 GiB, fail < 100 MB).
///
/// Nothing here prints, and no finding holds a secret, a token or a SAS signature: tokens are
/// decoded and described, never shown. Nothing is written to the database (the FTS5 check
/// runs in a transaction that is rolled back).
public struct DoctorChecks: Sendable {
    public let options: DoctorOptions

    public init(options: DoctorOptions) { self.options = options }

    /// Activity Log reads (formats.md §1.4).
    public static let activityReadAction = "Microsoft.Insights/eventtypes/values/read"
    /// What an RBAC snapshot reads.
    public static let rbacActions = ["Microsoft.Authorization/roleAssignments/read", "Microsoft.CognitiveServices/accounts/read"]
    /// Data more than this far behind is a warning.
    public static let maxLag: Int64 = 2 * Timestamp.microsPerDay

    /// Runs every check and returns the findings in order.
    public func run() -> DoctorReport {
        var report = DoctorReport()
        let (config, planned) = checkConfig(&report)
        if let config, !planned.isEmpty {
            let credentials = checkCredentials(config, planned, &report)
            let unreachable = checkEndpoints(config, planned, credentials, &report)
            checkPermissions(config, planned, credentials, unreachable: unreachable, &report)
        }
        let databasePath = options.databasePath ?? config?.database ?? "aoai-audit.db"
        let state = checkDatabase(databasePath, &report)
        checkSources(databasePath, state: state, config: config, &report)
        checkDisk(databasePath, &report)
        return report
    }

    // MARK: - 1. Config

    /// A configured source whose config is valid, with what it needs from Azure.
    struct Planned {
        var source: SourceConfig
        var collector: any Collector
        var method: AuthMethod?
        var tenant: String?
        /// Token targets the collector will ask for (empty: no credentials needed).
        var targets: [TokenTarget]

        var name: String { source.name }
        var groupKey: String { (method?.rawValue ?? "default") + "|" + (tenant ?? "") }
    }

    func checkConfig(_ report: inout DoctorReport) -> (Config?, [Planned]) {
        guard let path = options.configPath else {
            report.findings.append(.warn(
                "config", "no config file (--config, AOAI_AUDIT_CONFIG or ./aoai-audit.yaml): `collect` has no sources to run; import, query and search work without one",
                fix: "write aoai-audit.yaml with a `sources:` list (README: Configuration) and pass it with --config or AOAI_AUDIT_CONFIG"))
            return (nil, [])
        }
        let config: Config
        do {
            config = try Config.load(path: path, environment: options.environment)
        } catch {
            report.findings.append(.fail("config", error.description, fix: Self.configFix(error)))
            return (nil, [])
        }
        guard !config.sources.isEmpty else {
            report.findings.append(.warn("config", "\(path): valid, but it lists no `sources:`; `collect` has nothing to run",
                                         fix: "add sources (name:, type:, and the keys of the type) under `sources:` in \(path)"))
            return (config, [])
        }
        var planned: [Planned] = []
        var failed = 0
        for source in config.sources {
            do {
                let type = try CollectorRegistry.validate(source)
                let collector = try type.init(source: source)
                let auth = source.auth ?? config.auth
                planned.append(Planned(source: source, collector: collector, method: auth.flatMap(AuthMethod.init(rawValue:)),
                                       tenant: source.tenant ?? config.tenant, targets: Self.targets(of: collector, cloud: config.cloud)))
            } catch {
                failed += 1
                report.findings.append(.fail("config", error.description, fix: Self.configFix(error)))
            }
        }
        if failed == 0 {
            let names = planned.map { "\($0.name) (\($0.source.type))" }.joined(separator: ", ")
            report.findings.append(.ok("config", "\(path): \(planned.count) source\(planned.count == 1 ? "" : "s") valid: \(names)"))
        }
        return (config, planned)
    }

    static func configFix(_ error: ConfigError) -> String {
        "edit \(error.path)" + (error.line.map { " at line \($0)" } ?? "") + " as the message says, then run `aoai-audit doctor` again"
    }

    /// The token scopes a collector asks for.
    static func targets(of collector: any Collector, cloud: CloudEndpoints) -> [TokenTarget] {
        switch collector {
        case is ActivityLogCollector, is RBACSnapshotCollector: return [.arm]
        case let c as DiagnosticsBlobsCollector: return c.reader.sasEnv == nil ? [.storage] : []
        case let c as ActivityLogBlobsCollector: return c.reader.sasEnv == nil ? [.storage] : []
        case is LogAnalyticsCollector: return [.logAnalytics]
        default: return type(of: collector).needsCredentials ? [.arm] : []
        }
    }

    // MARK: - 7. Disk

    static let warnFreeBytes: Int64 = 1 << 30
    static let failFreeBytes: Int64 = 100 * 1_000_000

    func checkDisk(_ databasePath: String, _ report: inout DoctorReport) {
        let folder = Self.existingFolder(of: databasePath)
        guard let free = options.freeBytes(folder) else {
            report.findings.append(.warn("disk", "free space at \(folder): could not be read", fix: "check the folder exists and is readable (df -h \(folder))"))
            return
        }
        let text = "free space at \(folder): \(Self.bytes(free))"
        if free < Self.failFreeBytes {
            report.findings.append(.fail("disk", text + " (under 100 MB: imports and collects will fail)",
                                         fix: "free space on that file system, or move the database (--db, AOAI_AUDIT_DB or `database:`)"))
        } else if free < Self.warnFreeBytes {
            report.findings.append(.warn("disk", text + " (under 1 GiB)", fix: "free space on that file system, or move the database (--db, AOAI_AUDIT_DB or `database:`)"))
        } else {
            report.findings.append(.ok("disk", text))
        }
    }

    /// The database's folder, or its nearest ancestor that exists.
    static func existingFolder(of path: String) -> String {
        var folder = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path
        while !FileManager.default.fileExists(atPath: folder), folder != "/" {
            folder = URL(fileURLWithPath: folder).deletingLastPathComponent().path
        }
        return folder
    }

    /// Free bytes of the file system holding `folder` (available to unprivileged users).
    public static func freeBytes(at folder: String) -> Int64? {
        guard let attributes = try? FileManager.default.attributesOfFileSystem(forPath: folder) else { return nil }
        return (attributes[.systemFreeSize] as? NSNumber)?.int64Value
    }

    /// `812 KB`, `12.3 MB`, `64.0 GB`.
    static func bytes(_ n: Int64) -> String {
        let units: [(Double, String)] = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "KB")]
        for (size, unit) in units where Double(n) >= size {
            return String(format: "%.1f", Double(n) / size) + " " + unit
        }
        return "\(n) bytes"
    }

    /// `45s`, `12m`, `3h`, `2d`.
    static func duration(_ us: Int64) -> String {
        let s = max(0, us / Timestamp.microsPerSecond)
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        if s < 172_800 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }
}
