import ArgumentParser
import AuditCollect
import AuditCore
import AuditNet
import Foundation

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check why aoai-audit itself would not work: config, credentials, endpoints, permissions, database, disk.",
        discussion: """
            Runs every check in order and prints one line per finding (ok, WARN or FAIL), each \
            problem followed by what to do:

              config       the file parses and every source's keys and values are valid (file:line)
              credentials  per auth method and tenant in use: a token per scope the sources need \
            (ARM, storage, Log Analytics), decoded: audience, expiry, tenant, client/object id, \
            roles or scopes (the token itself is never shown)
              endpoint     every host in use answers (login, ARM, Log Analytics, storage, feeds)
              permissions  per source: Microsoft.Insights/eventtypes/values/read (activity-log), \
            Microsoft.Authorization/roleAssignments/read and Microsoft.CognitiveServices/accounts/read \
            (rbac-snapshot) through ARM's permissions API; List Blobs (blobs); the query `print 1` \
            (Log Analytics); the feed's GET; the repositories (sdk-versions)
              database     integrity_check (quick_check over 2 GiB), the search index's \
            integrity-check, schema version, file mode 0600
              source       per source: the last run's error; data more than 2 days behind
              disk         free space where the database lives (warn under 1 GiB, fail under 100 MB)

            Nothing is written: the database is neither migrated nor changed.

            Examples:
              aoai-audit doctor --config /etc/aoai-audit/aoai-audit.yaml
              aoai-audit doctor --format json | jq '.findings[] | select(.status != "ok")'

            Exit: 0 every check ok; 3 a warning; 1 a check failed.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

    @OptionGroup var global: GlobalOptions

    @Option(help: "Output format: table or json.")
    var format: Format = .table

    mutating func run() throws {
        let env = ProcessInfo.processInfo.environment
        let configPath = global.config ?? env["AOAI_AUDIT_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (FileManager.default.fileExists(atPath: "aoai-audit.yaml") ? "aoai-audit.yaml" : nil)
        let databasePath = global.db ?? env["AOAI_AUDIT_DB"].flatMap { $0.isEmpty ? nil : $0 }
        let options = DoctorOptions(configPath: configPath, databasePath: databasePath, environment: env, http: Self.makeHTTPTransport(env))
        let report = DoctorChecks(options: options).run()
        switch format {
        case .json:
            Terminal.out(report.json)
        case .table:
            Terminal.out(report.text(includeOK: !global.quiet))
        }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }

    /// The collect client's settings with fewer attempts: a host that does not answer is
    /// reported in seconds, not after the full retry budget.
    static func makeHTTPTransport(_ env: [String: String]) -> any HTTPTransport {
        var options = HTTPClientOptions()
        options.userAgent = "aoai-audit/\(AOAIAudit.configuration.version)"
        options.caBundle = ["AOAI_AUDIT_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"].lazy.compactMap { env[$0] }.first { !$0.isEmpty }
        options.maxAttempts = 2
        options.connectTimeout = 10
        options.totalTimeout = 60
        return CurlHTTPClient(options: options)
    }
}
