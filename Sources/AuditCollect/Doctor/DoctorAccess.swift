import AuditCore
import AuditNet
import Foundation

/// The caller's effective actions at one scope, from ARM's
/// `{scope}/providers/Microsoft.Authorization/permissions` answer: one entry per role
/// assignment, each `actions` minus its own `notActions` (wildcards: `*` matches any run of
/// characters, `/` included; case-insensitive, as ARM compares).
public struct ARMPermissions: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var actions: [String]
        public var notActions: [String]
        public init(actions: [String], notActions: [String] = []) {
            self.actions = actions
            self.notActions = notActions
        }
    }

    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    /// Whether some entry grants `action` without excluding it.
    public func allows(_ action: String) -> Bool {
        entries.contains { e in
            e.actions.contains { Self.matches($0, action) } && !e.notActions.contains { Self.matches($0, action) }
        }
    }

    /// `pattern` with `*` wildcards against `action`, case-insensitively.
    public static func matches(_ pattern: String, _ action: String) -> Bool {
        let p = Array(pattern.lowercased().utf8), a = Array(action.lowercased().utf8)
        // Classic glob matching with backtracking to the last star.
        var i = 0, j = 0, star = -1, mark = 0
        while j < a.count {
            if i < p.count, p[i] != UInt8(ascii: "*"), p[i] == a[j] {
                i += 1; j += 1
            } else if i < p.count, p[i] == UInt8(ascii: "*") {
                star = i; mark = j; i += 1
            } else if star >= 0 {
                i = star + 1; mark += 1; j = mark
            } else {
                return false
            }
        }
        while i < p.count, p[i] == UInt8(ascii: "*") { i += 1 }
        return i == p.count
    }

    /// Reads one page of the permissions answer; nil when it is not one.
    static func parse(_ body: [UInt8]) -> (entries: [Entry], nextLink: String?)? {
        guard case .object(let o)? = try? JSONParser.parse(body), let value = o["value"]?.arrayValue else { return nil }
        let entries = value.map { v in
            Entry(actions: (v["actions"]?.arrayValue ?? []).compactMap(\.text), notActions: (v["notActions"]?.arrayValue ?? []).compactMap(\.text))
        }
        return (entries, o["nextLink"]?.nonEmptyText)
    }
}

extension DoctorChecks {
    /// How long a reachability probe or a permission check may take.
    static let probeTimeout: Double = 30

    // MARK: - 3. Endpoints

    /// One finding per distinct origin in use; returns those that did not answer.
    func checkEndpoints(_ config: Config, _ planned: [Planned], _ credentials: [String: DoctorCredential], _ report: inout DoctorReport) -> Set<String> {
        var order: [String] = []
        var users: [String: [String]] = [:]
        func add(_ url: String, _ user: String) {
            guard let o = AzureResponses.origin(url) else { return }
            if users[o] == nil { order.append(o) }
            if !(users[o]?.contains(user) ?? false) { users[o, default: []].append(user) }
        }
        let entra = credentials.values.contains { $0.provider.map { [.clientSecret, .workloadIdentity].contains($0.method) } ?? false }
        if entra {
            let authority = options.environment["AZURE_AUTHORITY_HOST"].flatMap { $0.isEmpty ? nil : $0 }
            add(config.cloud.login, "Entra login")
            let usesWorkload = credentials.values.contains { $0.provider?.method == .workloadIdentity }
            if let authority, usesWorkload { add(authority, "Entra login (AZURE_AUTHORITY_HOST)") }
        }
        for p in planned {
            switch p.collector {
            case is ActivityLogCollector, is RBACSnapshotCollector: add(config.cloud.arm, "ARM: \(p.name)")
            case let c as DiagnosticsBlobsCollector: add(c.reader.accountURL, "storage: \(p.name)")
            case let c as ActivityLogBlobsCollector: add(c.reader.accountURL, "storage: \(p.name)")
            case is LogAnalyticsCollector: add(config.cloud.logAnalytics, "Log Analytics: \(p.name)")
            case let c as StatusFeedCollector: add(c.url, "feed: \(p.name)")
            default: break
            }
        }
        var unreachable: Set<String> = []
        for origin in order {
            let used = "used by " + (users[origin] ?? []).joined(separator: ", ")
            var request = HTTPRequest(url: origin + "/")
            request.timeout = Self.probeTimeout
            request.noRetryStatuses = [429, 500, 502, 503, 504]
            let started = DispatchTime.now().uptimeNanoseconds
            do {
                let r = try options.http.send(request)
                let ms = (DispatchTime.now().uptimeNanoseconds - started) / 1_000_000
                report.findings.append(.ok("endpoint", "\(origin) answers (HTTP \(r.status) to an unauthenticated GET /, \(ms) ms); \(used)"))
            } catch {
                unreachable.insert(origin)
                report.findings.append(.fail("endpoint", "cannot reach \(origin) (\(used)): \(error)",
                                             fix: "check the host in the config (`cloud:`, account_url, url), DNS, firewalls, the proxy (HTTPS_PROXY, NO_PROXY) and the CA bundle (AOAI_AUDIT_CA_BUNDLE)"))
            }
        }
        return unreachable
    }

    // MARK: - 4. Permissions

    func checkPermissions(_ config: Config, _ planned: [Planned], _ credentials: [String: DoctorCredential], unreachable: Set<String>,
                          _ report: inout DoctorReport) {
        for p in planned {
            let credential = credentials[p.groupKey]
            let head = "source '\(p.name)'"
            /// nil (with a finding) when the host or the token is missing.
            func ready(_ url: String, _ target: TokenTarget?) -> Bool {
                if let o = AzureResponses.origin(url), unreachable.contains(o) {
                    report.findings.append(.warn("permissions", "\(head): not checked: \(o) is unreachable (see endpoint above)",
                                                 fix: "make \(o) reachable first"))
                    return false
                }
                if let target, credential?.obtained[target] == nil {
                    report.findings.append(.warn("permissions", "\(head): not checked: no \(target.label) token (see credentials above)",
                                                 fix: "fix the credential first"))
                    return false
                }
                return true
            }
            switch p.collector {
            case let c as ActivityLogCollector:
                guard ready(config.cloud.arm, .arm), let credential else { continue }
                for sub in c.subscriptions {
                    report.findings.append(armCheck(p, scope: "/subscriptions/\(sub)", actions: [Self.activityReadAction], config: config, credential: credential,
                                                    roles: "Reader or Monitoring Reader"))
                }
            case let c as RBACSnapshotCollector:
                guard ready(config.cloud.arm, .arm), let credential else { continue }
                for scope in c.subscriptions.map({ "/subscriptions/\($0)" }) + c.accounts {
                    report.findings.append(armCheck(p, scope: scope, actions: Self.rbacActions, config: config, credential: credential, roles: "Reader"))
                }
            case let c as DiagnosticsBlobsCollector:
                guard ready(c.reader.accountURL, c.reader.sasEnv == nil ? .storage : nil) else { continue }
                report.findings.append(blobCheck(p, c.reader, credential: credential, config: config))
            case let c as ActivityLogBlobsCollector:
                guard ready(c.reader.accountURL, c.reader.sasEnv == nil ? .storage : nil) else { continue }
                report.findings.append(blobCheck(p, c.reader, credential: credential, config: config))
            case let c as LogAnalyticsCollector:
                guard ready(config.cloud.logAnalytics, .logAnalytics), let credential else { continue }
                report.findings.append(logAnalyticsCheck(p, c, config: config, credential: credential))
            case let c as StatusFeedCollector:
                guard ready(c.url, nil) else { continue }
                report.findings.append(feedCheck(p, c))
            case let c as SDKVersionsCollector:
                report.findings += repositoryChecks(p, c)
            default:
                break
            }
        }
    }

    /// `Authorization` for `target` from the credential's provider (cached: no new request).
    func authorization(_ credential: DoctorCredential?, _ target: TokenTarget, _ config: Config) throws -> (name: String, value: String) {
        guard let provider = credential?.provider else { throw CollectError.noCredentials(source: "") }
        return ("Authorization", "Bearer " + (try provider.token(scope: target.scope(config.cloud))).value)
    }

    /// ARM's permissions API at `scope`, then whether every action in `actions` is granted.
    func armCheck(_ p: Planned, scope: String, actions: [String], config: Config, credential: DoctorCredential, roles: String) -> DoctorFinding {
        let head = "source '\(p.name)'"
        let assignee = credential.assignee ?? "<client id>"
        let fix = "assign \(credential.principal) \(roles) on \(scope): az role assignment create --assignee \(assignee) --role \"\(roles.components(separatedBy: " or ").last ?? roles)\" --scope \(scope)"
        var url = config.cloud.arm + scope + "/providers/Microsoft.Authorization/permissions?api-version=2022-04-01"
        var entries: [ARMPermissions.Entry] = []
        do {
            let auth = try authorization(credential, .arm, config)
            var pages = 0
            while true {
                pages += 1
                let r = try options.http.send(HTTPRequest(url: url, headers: [auth]))
                guard r.status == 200 else {
                    let (code, message) = AzureResponses.armError(r.body)
                    let what = "HTTP \(r.status)" + (code.map { " \($0)" } ?? "") + (message.isEmpty ? "" : ": " + Redactor.redact(String(message.prefix(300))))
                    switch r.status {
                    case 403:
                        return .fail("permissions", "\(head): ARM refused to list the permissions of \(credential.principal) on \(scope) (\(what)); \(actions.joined(separator: ", ")) cannot be granted there", fix: fix)
                    case 404:
                        return .fail("permissions", "\(head): \(scope) not found or not visible to \(credential.principal) (\(what)), so \(actions.joined(separator: ", ")) cannot be checked",
                                     fix: "check the subscription/resource id in the config and the tenant of the credential; then " + fix)
                    default:
                        let hint = AzureResponses.armFailure(source: p.name, url: url, response: r, permission: actions[0])
                        return .fail("permissions", "\(head): checking \(actions.joined(separator: ", ")) on \(scope) failed: \(what)",
                                     fix: Self.hint(of: hint) ?? "check the credential findings above")
                    }
                }
                guard let page = ARMPermissions.parse(r.body) else {
                    return .fail("permissions", "\(head): the permissions answer for \(scope) is not an ARM list", fix: "check that `cloud.arm` points at Azure Resource Manager")
                }
                entries += page.entries
                guard let next = page.nextLink, pages < 20, AzureResponses.origin(next) == AzureResponses.origin(url) else { break }
                url = next
            }
        } catch {
            return .fail("permissions", "\(head): checking \(actions.joined(separator: ", ")) on \(scope) failed: \(error)", fix: "see the endpoint and credentials findings above")
        }
        let granted = ARMPermissions(entries: entries)
        let missing = actions.filter { !granted.allows($0) }
        if missing.isEmpty {
            return .ok("permissions", "\(head): \(actions.joined(separator: ", ")) granted on \(scope)")
        }
        return .fail("permissions", "\(head): \(credential.principal) lacks \(missing.joined(separator: ", ")) on \(scope)", fix: fix)
    }

    /// The `hint` part of a `CollectError.service` (what to do).
    static func hint(of error: CollectError) -> String? {
        if case .service(_, _, _, _, _, let hint) = error, !hint.isEmpty { return hint }
        return nil
    }

    /// List Blobs with `maxresults=1`, with the source's SAS or an Entra token.
    func blobCheck(_ p: Planned, _ reader: BlobContainerReader, credential: DoctorCredential?, config: Config) -> DoctorFinding {
        let head = "source '\(p.name)'"
        var query = ["restype=container", "comp=list", "maxresults=1"]
        if let prefix = reader.prefix { query.append("prefix=" + AzureResponses.encodeQueryValue(prefix)) }
        var headers: [(name: String, value: String)] = [("x-ms-version", BlobContainerReader.storageVersion)]
        if let sasEnv = reader.sasEnv {
            guard var sas = options.environment[sasEnv], !sas.isEmpty else {
                return .fail("permissions", "\(head): the environment variable \(sasEnv) (sas_env) is not set",
                             fix: "export \(sasEnv)='sv=…&sp=rl&sig=…' (a SAS with read and list on the container), or drop sas_env to use an Entra identity")
            }
            if sas.hasPrefix("?") { sas.removeFirst() }
            query.append(sas)
        } else {
            do {
                headers.append(try authorization(credential, .storage, config))
            } catch {
                return .warn("permissions", "\(head): not checked: no storage token (see credentials above)", fix: "fix the credential first")
            }
        }
        let container = reader.container
        let url = reader.accountURL + "/" + BlobContainerReader.encodePath(container) + "?" + query.joined(separator: "&")
        let shown = AzureResponses.pathOnly(url)
        let via = reader.sasEnv.map { "the SAS in \($0)" } ?? (credential?.principal ?? "the identity")
        do {
            let r = try options.http.send(HTTPRequest(url: url, headers: headers))
            if r.status == 200 {
                let page = BlobListParser.parse(r.body)
                if let e = page.error {
                    return .fail("permissions", "\(head): \(shown) answered 200 but not with a blob list (\(e))", fix: "check that account_url is the blob endpoint of the storage account")
                }
                let n = page.blobs.count
                return .ok("permissions", "\(head): \(via) may list container \(container) (\(n == 0 ? "no blob yet" : "first blob found")) at \(shown)")
            }
            let (code, message) = AzureResponses.storageError(r)
            let what = "HTTP \(r.status)" + (code.map { " \($0)" } ?? "") + (message.isEmpty ? "" : ": " + Redactor.redact(String(message.prefix(200))))
            if r.status == 403, code == "AuthorizationPermissionMismatch", reader.sasEnv == nil {
                return .fail("permissions", "\(head): \(via) may not list container \(container) (\(what)): it lacks Storage Blob Data Reader",
                             fix: "assign 'Storage Blob Data Reader' on the storage account or the container: az role assignment create --assignee \(credential?.assignee ?? "<client id>") --role \"Storage Blob Data Reader\" --scope <storage account id>/blobServices/default/containers/\(container)")
            }
            let failure = AzureResponses.storageFailure(source: p.name, url: url, response: r)
            return .fail("permissions", "\(head): listing container \(container) at \(shown) with \(via) failed: \(what)",
                         fix: Self.hint(of: failure) ?? (reader.sasEnv != nil ? "issue a SAS with read and list (sp=rl) on the container that has not expired" : "check account_url and container in the config"))
        } catch {
            return .fail("permissions", "\(head): listing container \(container) failed: \(error)", fix: "see the endpoint findings above")
        }
    }

    /// The Log Analytics query `print 1` against the workspace.
    func logAnalyticsCheck(_ p: Planned, _ c: LogAnalyticsCollector, config: Config, credential: DoctorCredential) -> DoctorFinding {
        let head = "source '\(p.name)'"
        let url = c.queryURL(config.cloud)
        do {
            let auth = try authorization(credential, .logAnalytics, config)
            var request = HTTPRequest(method: "POST", url: url, headers: [auth, ("Content-Type", "application/json")],
                                      body: Array(JSONValue.object(JSONObject([("query", .string("print 1"))])).serialized.utf8))
            request.timeout = 60
            let r = try options.http.send(request)
            if r.status == 200, case .object(let o)? = try? JSONParser.parse(r.body), o["tables"]?.arrayValue != nil {
                return .ok("permissions", "\(head): workspace \(c.workspace) answers the query `print 1` for \(credential.principal)")
            }
            let e = (try? JSONParser.parse(r.body))?["error"]?.objectValue
            let code = e?["code"]?.nonEmptyText
            let what = "HTTP \(r.status)" + (code.map { " \($0)" } ?? "") + (e.map { ": " + LogAnalyticsCollector.message($0) } ?? "")
            switch r.status {
            case 403:
                return .fail("permissions", "\(head): \(credential.principal) may not query workspace \(c.workspace) (\(what)): it lacks Log Analytics Reader",
                             fix: "assign 'Log Analytics Reader' on the workspace: az role assignment create --assignee \(credential.assignee ?? "<client id>") --role \"Log Analytics Reader\" --scope <workspace resource id>")
            case 404:
                return .fail("permissions", "\(head): workspace \(c.workspace) not found (\(what))",
                             fix: "`workspace:` must be the workspace's customerId GUID: az monitor log-analytics workspace show --query customerId")
            default:
                return .fail("permissions", "\(head): the query `print 1` on workspace \(c.workspace) failed: \(what)",
                             fix: r.status == 401 ? "the Log Analytics token was refused; check the credential findings above and `cloud.log_analytics`" : "check `cloud.log_analytics` points at the Log Analytics query API")
            }
        } catch {
            return .fail("permissions", "\(head): the query `print 1` on workspace \(c.workspace) failed: \(error)", fix: "see the endpoint and credentials findings above")
        }
    }

    /// A plain GET of the feed: 200 (or 304) is fine.
    func feedCheck(_ p: Planned, _ c: StatusFeedCollector) -> DoctorFinding {
        let head = "source '\(p.name)'"
        let shown = HTTPRequest.display(c.url)
        do {
            var request = HTTPRequest(url: c.url, headers: [("Accept", "application/rss+xml, application/atom+xml, application/xml;q=0.9, application/json;q=0.9, */*;q=0.5")])
            request.timeout = Self.probeTimeout
            let r = try options.http.send(request)
            if r.status == 200 || r.status == 304 {
                return .ok("permissions", "\(head): \(shown) answers HTTP \(r.status) (\(Self.bytes(Int64(r.body.count))))")
            }
            return .fail("permissions", "\(head): \(shown) answers HTTP \(r.status)", fix: "check `url` in the config (the feed may have moved)")
        } catch {
            return .fail("permissions", "\(head): fetching \(shown) failed: \(error)", fix: "see the endpoint findings above")
        }
    }

    /// Each repository exists and is a git checkout; `git` is on PATH.
    func repositoryChecks(_ p: Planned, _ c: SDKVersionsCollector) -> [DoctorFinding] {
        let head = "source '\(p.name)'"
        let at = "'repos' at \(c.configPath):\(c.reposLine)"
        do {
            _ = try LockfileHistory.Git.locate(environment: options.environment)
        } catch {
            return [.fail("permissions", "\(head): git is not on PATH: \(error)", fix: "install git (apt-get install git)")]
        }
        return c.repositories.map { repo in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: repo, isDirectory: &isDirectory), isDirectory.boolValue else {
                return .fail("permissions", "\(head): repository \(repo) does not exist", fix: "correct \(at) (relative paths are relative to the config file's folder)")
            }
            do {
                let head0 = try SDKVersionsCollector.head(of: repo)
                return .ok("permissions", "\(head): \(repo) is a git repository" + (head0.map { " (HEAD \($0.prefix(12)))" } ?? " (no commits yet)"))
            } catch {
                return .fail("permissions", "\(head): \(repo) is not a readable git repository: \(error)",
                             fix: "correct \(at), or make the folder a git checkout readable by this user (git config --global --add safe.directory \(repo) if it belongs to another user)")
            }
        }
    }
}
