import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The aoai-audit config that points every endpoint at a running simulator, and the one-line
/// summary of what it serves — shared by `aoai-audit simulate --write-config` and
/// `aoai-audit demo`.
///
/// ```swift
/// let azure = try SimAzure(scenario: "/tmp/estate")
/// let server = try SimHTTPServer(port: 0, handler: azure.handler)
/// try SimulatorConfig.write(SimulatorConfig.yaml(azure: azure, baseURL: server.baseURL, scenario: "/tmp/estate"), to: "/tmp/sim.yaml")
/// ```
public enum SimulatorConfig {
    /// What a config holds beyond the simulator's own sources (`demo` fills these in).
    public struct Extras: Sendable, Equatable {
        /// The command named in the header comment (`aoai-audit simulate --scenario DIR`).
        public var writtenBy: String?
        /// `database:` (relative paths are relative to the config's folder).
        public var database: String?
        /// `exports: {dir: …}`.
        public var exportsDir: String?
        /// An `sdk-versions` source over these git repositories.
        public var repos: [String] = []

        public init(writtenBy: String? = nil, database: String? = nil, exportsDir: String? = nil, repos: [String] = []) {
            self.writtenBy = writtenBy
            self.database = database
            self.exportsDir = exportsDir
            self.repos = repos
        }
    }

    /// A config with every endpoint at `baseURL` and one source per kind the simulator serves
    /// (Activity Log and RBAC snapshots per subscription, the diagnostics container, each status
    /// feed), plus what `extras` adds. Its header comment names the simulator's fake test
    /// identity.
    public static func yaml(azure: SimAzure, baseURL: String, scenario: String, extras: Extras = Extras()) -> String {
        let o = azure.options
        let subscriptions = azure.subscriptions
        let list = "[" + subscriptions.joined(separator: ", ") + "]"
        var text = """
            # aoai-audit config for the local Azure simulator at \(baseURL), written by
            # \(extras.writtenBy ?? "`aoai-audit simulate --scenario \(scenario)`"). Fake data, loopback only.
            # The simulator accepts only its fake test identity; before collecting, export:
            #   export AZURE_TENANT_ID=\(o.tenant)
            #   export AZURE_CLIENT_ID=\(o.clientID)
            #   export AZURE_CLIENT_SECRET=\(o.clientSecret)
            #   export NO_PROXY=127.0.0.1,localhost
            # then: aoai-audit collect --config <this file>\(extras.database == nil ? " --db <a database>" : "")

            """
        if let database = extras.database { text += "database: \(quoted(database))\n" }
        text += """
            cloud:
              arm: \(baseURL)
              login: \(baseURL)
              log_analytics: \(baseURL)
            tenant: \(o.tenant)
            auth: client-secret

            """
        if let dir = extras.exportsDir { text += "exports:\n  dir: \(quoted(dir))\n" }
        text += "sources:\n"
        if !subscriptions.isEmpty {
            text += "  - name: activity\n    type: activity-log\n    subscriptions: \(list)\n"
        }
        text += "  - name: diagnostics\n    type: diagnostics-blobs\n    account_url: \(baseURL)/simstorage\n    container: insights-logs-requestresponse\n"
        for feed in azure.feedNames {
            let name = "status-" + feed.map { $0.isLetter || $0.isNumber ? String($0) : "-" }.joined()
            text += "  - name: \(name)\n    type: status-feed\n    url: \(baseURL)/status/\(feed)\n"
        }
        if !subscriptions.isEmpty {
            text += "  - name: rbac\n    type: rbac-snapshot\n    subscriptions: \(list)\n"
        }
        if !extras.repos.isEmpty {
            text += "  - name: apps\n    type: sdk-versions\n    repos: [" + extras.repos.map(quoted).joined(separator: ", ") + "]\n"
        }
        return text
    }

    /// `serving 2880 diagnostics blobs (2880 file-backed), 1212 Activity Log events, …`.
    public static func summary(_ azure: SimAzure) -> String {
        let rr = azure.blobNames(container: "insights-logs-requestresponse")
        let fileBacked = rr.filter { azure.isFileBacked(container: "insights-logs-requestresponse", name: $0) == true }.count
        let subscriptions = azure.subscriptions
        let events = subscriptions.reduce(0) { $0 + azure.activityEventCount(subscription: $1) }
        let feeds = azure.feedNames
        return "serving \(rr.count) diagnostics blobs (\(fileBacked) file-backed), "
            + "\(azure.blobNames(container: "insights-activity-logs").count) activity export blobs, \(events) Activity Log events, "
            + "\(azure.accountIDs.count) accounts in \(subscriptions.count) subscriptions, "
            + "\(azure.diagnosticRecordCount) Log Analytics rows, feeds: \(feeds.isEmpty ? "none" : feeds.joined(separator: ", "))"
    }

    /// Writes `text` through a temporary file and a rename, so a reader never sees half a config.
    /// - Throws: `SimulatorConfigError` naming the path and the reason.
    public static func write(_ text: String, to path: String) throws(SimulatorConfigError) {
        let temporary = path + ".tmp-\(getpid())"
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        } catch {
            throw SimulatorConfigError(message: "cannot write the config to \(path): \(error.localizedDescription)")
        }
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw SimulatorConfigError(message: "cannot write the config to \(path): \(reason)")
        }
    }

    /// `s` as a YAML scalar: plain when it is safe, else double-quoted.
    static func quoted(_ s: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+")
        if !s.isEmpty, s.allSatisfy({ safe.contains($0) }), s.first != "-" { return s }
        return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

/// A config file that could not be written: the path and the reason, in one line.
public struct SimulatorConfigError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}
