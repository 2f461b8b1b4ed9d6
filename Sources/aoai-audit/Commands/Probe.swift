import ArgumentParser
import AuditCollect
import AuditCore
import AuditNet
import AuditStore
import Foundation

struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send one minimal request to an Azure OpenAI deployment and explain the answer.",
        discussion: """
            POSTs a one-token chat completion to {endpoint}/openai/deployments/{deployment}/chat/completions \
            with an api key (from $AZURE_OPENAI_API_KEY, or the variable --key-env names) or, with --entra, \
            an Entra token for https://cognitiveservices.azure.com/.default (the credentials of the config's \
            auth:/tenant:/cloud.login, else the Azure Identity chain). It is never retried; the latency is \
            that one request's. The answer is classified — ok, invalid_key_or_endpoint, key_auth_disabled, \
            token_rejected, no_data_plane_role, deployment_not_found, throttled, other — with what it means \
            and the fix, plus apim-request-id, x-ms-region, x-ratelimit-remaining-* and Retry-After.

            Each request is stored in the database (table probes; `aoai-audit query probes` shows them with \
            the burst they confirm), and failing ones are searchable. The key and the token are never \
            printed or stored. --no-store skips the database.

            --repeat N (up to 1000) --interval D sends N requests D apart (start to start; 500ms, 2s, 1m) \
            and prints the status mix, p50/p95/p99 latency and the 429 rate (--verbose: every request).

            Examples:
              aoai-audit probe --endpoint https://aoai-prod-eus.openai.azure.com --deployment gpt-4o
              aoai-audit probe --endpoint https://aoai-prod-eus.openai.azure.com --deployment gpt-4o --entra
              aoai-audit probe --endpoint https://aoai-prod-eus.openai.azure.com --deployment gpt-4o --key-env PROD_AOAI_KEY --format json
              aoai-audit probe --endpoint https://aoai-prod-eus.openai.azure.com --deployment gpt-4o --repeat 100 --interval 500ms

            Exit: 0 every request answered ok; 3 a request was classified as a failure (or got no answer); \
            1 the probe could not run (no key, no token, endpoint unreachable).
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The resource endpoint: https://NAME.openai.azure.com (http:// only to loopback).", valueName: "url"))
    var endpoint: String

    @Option(help: ArgumentHelp("The deployment name.", valueName: "name"))
    var deployment: String

    @Option(name: .customLong("api-version"), help: ArgumentHelp("The api-version to call.", valueName: "version"))
    var apiVersion: String = ProbeTarget.defaultAPIVersion

    @Option(name: .customLong("key-env"), help: ArgumentHelp("Environment variable holding the api key (default AZURE_OPENAI_API_KEY).", valueName: "VAR"))
    var keyEnv: String?

    @Flag(help: "Authenticate with an Entra token instead of a key.")
    var entra = false

    @Option(help: ArgumentHelp("The resource probed (ARM id or account name), for the store and correlation; default: the account the endpoint names.", valueName: "R"))
    var resource: String?

    @Option(name: .customLong("repeat"), help: ArgumentHelp("Requests to send (1–1000).", valueName: "N"))
    var repeatCount: Int = 1

    @Option(help: ArgumentHelp("Time between request starts with --repeat: 500ms, 2s, 1m (at most 60s).", valueName: "D"))
    var interval: String = "1s"

    @Option(help: "Output format: table or json.")
    var format: Format = .table

    @Flag(help: "With --repeat, print every request.")
    var verbose = false

    @Flag(name: .customLong("no-store"), help: "Do not write the probe to the database.")
    var noStore = false

    static let defaultKeyVariable = "AZURE_OPENAI_API_KEY"
    static let maxRepeat = 1000
    static let maxIntervalSeconds = 60.0
    static let maxSoakSeconds = 3600.0

    func validate() throws {
        if entra && keyEnv != nil { throw ValidationError("--entra and --key-env exclude each other: probe with a key or with a token") }
        guard (1...Self.maxRepeat).contains(repeatCount) else { throw ValidationError("--repeat must be between 1 and \(Self.maxRepeat)") }
        guard let seconds = DataPlaneProbe.parseInterval(interval), seconds <= Self.maxIntervalSeconds else {
            throw ValidationError("--interval '\(interval)' is not a duration of at most 60s (e.g. 10ms, 500ms, 2s, 1m)")
        }
        if Double(repeatCount - 1) * seconds > Self.maxSoakSeconds {
            throw ValidationError("--repeat \(repeatCount) --interval \(interval) would run longer than an hour; send fewer requests or shorten the interval")
        }
        if let keyEnv, keyEnv.isEmpty || !keyEnv.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) {
            throw ValidationError("--key-env takes the name of an environment variable (letters, digits, _), not the key itself")
        }
        do {
            _ = try ProbeTarget(endpoint: endpoint, deployment: deployment, apiVersion: apiVersion)
        } catch {
            throw ValidationError(error.description)
        }
    }

    mutating func run() throws {
        let run: ProbeRun = try userFacing { try execute() }
        switch format {
        case .json: Terminal.out(ProbeReport.json(run) + "\n")
        case .table: Terminal.out(ProbeReport.table(run, verbose: verbose, quiet: global.quiet))
        }
        for e in run.errors { Terminal.err("error: request #\(e.seq): \(e.message)") }
        if run.results.isEmpty {
            throw CLIError(message: run.errors.first?.message ?? "no request was answered")
        }
        if run.results.contains(where: { $0.classification != .ok }) || !run.errors.isEmpty { throw Exit.losses }
    }

    /// Loads the config and database, finds the credential, sends the requests, stores them.
    func execute() throws -> ProbeRun {
        let target = try ProbeTarget(endpoint: endpoint, deployment: deployment, apiVersion: apiVersion)
        let env = ProcessInfo.processInfo.environment
        let config = try global.loadConfig()
        // The database first: a store that cannot be opened stops the probe before any request.
        let db: Database? = noStore ? nil : try Database(path: global.databasePath(config))
        let resourceID = ProbeStore.resolveResource(explicit: resource, target: target, db: db)
        let kind: ProbeAuthKind = entra ? .entra : .key
        let secret: () throws -> ProbeSecret
        var prefetched: ProbeSecret?
        if entra {
            let method = config?.auth.flatMap(AuthMethod.init(rawValue:))
            let provider = try Credentials.make(method: method, tenant: config?.tenant, login: (config?.cloud ?? CloudEndpoints()).login,
                                                environment: env, http: CollectCommand.makeHTTPTransport())
            secret = { .bearer(try provider.token(scope: ProbeClassifier.scope).value) }
            // A token that cannot be had means the probe cannot run: fail before sending anything.
            prefetched = try secret()
        } else {
            let name = keyEnv ?? Self.defaultKeyVariable
            guard let key = env[name]?.trimmingSpaces, !key.isEmpty else {
                throw CLIError(message: "\(name) is not set: export the resource's api key in it (or name another variable with --key-env), or probe with --entra")
            }
            secret = { .apiKey(key) }
        }
        let probe = DataPlaneProbe(target: target, resource: resourceID.isEmpty ? nil : resourceID, http: CurlHTTPClient(options: Self.httpOptions()))
        let seconds = DataPlaneProbe.parseInterval(interval) ?? 1
        var results: [ProbeResult] = []
        var errors: [ProbeRun.Failure] = []
        let clock = ContinuousClock()
        let start = clock.now
        for i in 0..<repeatCount {
            if i > 0 {
                let due = start + .microseconds(Int64(seconds * 1_000_000) * Int64(i))
                let wait = due - clock.now
                if wait > .zero { Thread.sleep(forTimeInterval: Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18) }
            }
            do {
                let credential = try prefetched ?? secret()
                prefetched = nil
                results.append(try probe.send(credential, seq: i + 1))
            } catch let e as HTTPError {
                errors.append(.init(seq: i + 1, message: Redactor.redact(e.description)))
            } catch {
                errors.append(.init(seq: i + 1, message: Redactor.redact(String(describing: error))))
            }
            if repeatCount == 1, let e = errors.first { throw CLIError(message: e.message) }
        }
        let series = ProbeStore.Series(target: target, auth: kind, resourceID: resourceID)
        var ids: [Int64] = []
        if let db, !results.isEmpty { ids = try ProbeStore.write(results, series: series, db: db) }
        return ProbeRun(series: series, interval: repeatCount > 1 ? interval : nil, results: results, errors: errors,
                        summary: ProbeSummary(results, unanswered: errors.count), storedIDs: ids, stored: db != nil)
    }

    /// The collectors' client settings (user agent, CA bundle) with a single attempt.
    static func httpOptions() -> HTTPClientOptions {
        var options = HTTPClientOptions()
        options.userAgent = "aoai-audit/\(AOAIAudit.configuration.version)"
        let env = ProcessInfo.processInfo.environment
        options.caBundle = ["AOAI_AUDIT_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"].lazy.compactMap { env[$0] }.first { !$0.isEmpty }
        return DataPlaneProbe.httpOptions(base: options)
    }
}

/// What one `probe` command did.
struct ProbeRun {
    struct Failure { var seq: Int; var message: String }
    var series: ProbeStore.Series
    var interval: String?
    var results: [ProbeResult]
    var errors: [Failure]
    var summary: ProbeSummary
    var storedIDs: [Int64]
    var stored: Bool

    /// `ok` when every answer was ok, else the most frequent failure class (earliest on a tie).
    var overall: ProbeResult? {
        let failing = results.filter { $0.classification != .ok }
        guard !failing.isEmpty else { return results.first }
        let counts = failing.reduce(into: [ProbeClass: Int]()) { $0[$1.classification, default: 0] += 1 }
        let top = counts.values.max() ?? 0
        return failing.first { counts[$0.classification] == top }
    }
}

enum ProbeReport {
    static func ms(_ v: Double?) -> String { v.map { String(format: "%.1f ms", $0) } ?? "-" }

    static func table(_ run: ProbeRun, verbose: Bool, quiet: Bool) -> String {
        let s = run.series
        var out = ""
        if !quiet {
            out += "probe \(s.target.host)  deployment \(s.target.deployment)  api-version \(s.target.apiVersion)  auth \(s.auth.rawValue)"
            if !s.resourceID.isEmpty { out += "  resource \(s.resourceID)" }
            if let i = run.interval { out += "  (\(run.results.count + run.errors.count) requests every \(i))" }
            out += "\n"
        }
        if run.interval == nil, let r = run.results.first {
            out += line(r) + "\n"
            out += "  \(r.verdict.detail)\n"
            out += "  fix: \(r.verdict.fix)\n"
            out += "  " + headers(r) + "\n"
        } else {
            if verbose {
                for r in run.results {
                    out += "  #\(r.seq)  \(Timestamp.iso(r.timeUs))  " + line(r) + "  " + headers(r) + "\n"
                }
            }
            let m = run.summary
            let mix = m.statuses.sorted { $0.key < $1.key }.map { "\($0.value) × \($0.key)" }.joined(separator: ", ")
            out += "requests \(m.count)" + (m.unanswered > 0 ? " answered, \(m.unanswered) unanswered" : "") + " (\(mix))"
            out += "; latency p50 \(ms(m.p50)), p95 \(ms(m.p95)), p99 \(ms(m.p99)) (min \(ms(m.minMs)), max \(ms(m.maxMs)))"
            out += String(format: "; 429 rate %.1f %% (%d/%d)\n", m.rate429 * 100, m.throttled, m.count)
            var seen = Set<ProbeClass>()
            for r in run.results where seen.insert(r.classification).inserted {
                let n = m.classes[r.classification.rawValue] ?? 0
                out += "\(r.classification.rawValue) (\(n)): HTTP \(r.status)" + (r.verdict.errorCode.map { " code \($0)" } ?? "") + ": \(r.verdict.detail)\n"
                out += "  fix: \(r.verdict.fix)\n"
            }
        }
        if run.stored && !run.storedIDs.isEmpty {
            out += run.storedIDs.count == 1
                ? "stored: probe \(run.storedIDs[0]) (aoai-audit query probes)\n"
                : "stored: \(run.storedIDs.count) probes, series \(s.id) (aoai-audit query probes)\n"
        }
        return out
    }

    static func line(_ r: ProbeResult) -> String {
        "HTTP \(r.status)  \(r.classification.rawValue)" + (r.verdict.errorCode.map { " (code \($0))" } ?? "") + "  \(ms(r.latencyMs))"
    }

    static func headers(_ r: ProbeResult) -> String {
        var parts = ["apim-request-id \(r.apimRequestID ?? "-")", "region \(r.region ?? "-")"]
        if r.remainingRequests != nil || r.remainingTokens != nil {
            parts.append("remaining requests \(r.remainingRequests.map(String.init) ?? "-") tokens \(r.remainingTokens.map(String.init) ?? "-")")
        }
        if let w = r.retryAfterSeconds { parts.append("retry-after \(ProbeReportNumber.text(w)) s") }
        if let p = r.verdict.principalID { parts.append("principal \(p)") }
        return parts.joined(separator: "  ")
    }

    static func json(_ run: ProbeRun) -> String {
        func num(_ v: Double?) -> JSONValue { v.map { .number(ProbeReportNumber.text($0)) } ?? .null }
        func int(_ v: Int64?) -> JSONValue { v.map { .number(String($0)) } ?? .null }
        func str(_ v: String?) -> JSONValue { v.map { .string($0) } ?? .null }
        let s = run.series
        let m = run.summary
        let overall = run.overall
        let probes: [JSONValue] = run.results.map { r in
            .object(JSONObject([
                ("seq", .number(String(r.seq))), ("time", .string(Timestamp.iso(r.timeUs))), ("status", .number(String(r.status))),
                ("class", .string(r.classification.rawValue)), ("error_code", str(r.verdict.errorCode)), ("detail", .string(r.verdict.detail)),
                ("fix", .string(r.verdict.fix)), ("latency_ms", num(r.latencyMs)), ("apim_request_id", str(r.apimRequestID)),
                ("client_request_id", .string(r.clientRequestID)), ("region", str(r.region)),
                ("ratelimit_remaining_requests", int(r.remainingRequests)), ("ratelimit_remaining_tokens", int(r.remainingTokens)),
                ("retry_after_s", num(r.retryAfterSeconds)), ("principal_id", str(r.verdict.principalID)),
            ]))
        }
        let doc: JSONValue = .object(JSONObject([
            ("schema_version", .number("1")),
            ("endpoint_host", .string(s.target.host)), ("deployment", .string(s.target.deployment)), ("api_version", .string(s.target.apiVersion)),
            ("auth", .string(s.auth.rawValue)), ("resource_id", s.resourceID.isEmpty ? .null : .string(s.resourceID)),
            ("series_id", .string(s.id)), ("stored", .bool(run.stored && !run.storedIDs.isEmpty)),
            ("class", str(overall?.classification.rawValue)), ("detail", str(overall?.verdict.detail)), ("fix", str(overall?.verdict.fix)),
            ("summary", .object(JSONObject([
                ("count", .number(String(m.count))), ("unanswered", .number(String(m.unanswered))),
                ("statuses", .object(JSONObject(m.statuses.sorted { $0.key < $1.key }.map { (String($0.key), JSONValue.number(String($0.value))) }))),
                ("classes", .object(JSONObject(m.classes.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.number(String($0.value))) }))),
                ("latency_ms", .object(JSONObject([("p50", num(m.p50)), ("p95", num(m.p95)), ("p99", num(m.p99)), ("min", num(m.minMs)), ("max", num(m.maxMs))]))),
                ("throttled", .number(String(m.throttled))), ("rate_429", num(m.rate429)),
            ]))),
            ("probes", .array(probes)),
            ("errors", .array(run.errors.map { .object(JSONObject([("seq", .number(String($0.seq))), ("message", .string($0.message))])) })),
        ]))
        return doc.serialized
    }
}

enum ProbeReportNumber {
    /// A JSON-safe decimal with at most 3 fraction digits.
    static func text(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        var t = String(format: "%.3f", v)
        while t.hasSuffix("0") { t.removeLast() }
        if t.hasSuffix(".") { t.removeLast() }
        return t
    }
}
