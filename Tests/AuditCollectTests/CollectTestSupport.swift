import AuditCollect
import AuditCore
import AuditNet
import AuditStore
import AuditTestSupport
import Foundation

/// An in-test `HTTPTransport`: answers by URL from a handler, records every request, and
/// measures how many requests were in flight at once.
final class FakeTransport: HTTPTransport, @unchecked Sendable {
    typealias Handler = @Sendable (HTTPRequest) throws(HTTPError) -> HTTPResponse

    private let lock = NSLock()
    private let handler: Handler
    private var inFlight = 0
    private(set) var maxInFlight = 0
    private var sent: [HTTPRequest] = []
    private var counted = HTTPStats()

    init(_ handler: @escaping Handler) { self.handler = handler }

    var requests: [HTTPRequest] {
        lock.lock(); defer { lock.unlock() }
        return sent
    }

    var stats: HTTPStats {
        lock.lock(); defer { lock.unlock() }
        return counted
    }

    func send(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        lock.lock()
        sent.append(request)
        inFlight += 1
        maxInFlight = max(maxInFlight, inFlight)
        counted.requests += 1
        lock.unlock()
        defer {
            lock.lock()
            inFlight -= 1
            lock.unlock()
        }
        return try handler(request)
    }

    static func ok(_ body: String, headers: [String: String] = [:]) -> HTTPResponse {
        HTTPResponse(status: 200, headers: headers, body: Array(body.utf8))
    }
}

extension HTTPRequest {
    func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// A token provider that is never asked (the collectors under test need none) unless a test
/// checks the cache.
struct FakeTokens: TokenProvider {
    var method: AuthMethod = .tokenEnv
    func token(scope: String) throws(AuthError) -> AccessToken { AccessToken(value: "fake", expiresOnMicros: Int64.max) }
}

/// A temp folder with a database and a config file written from text.
struct CollectFixture {
    let dir = TestSupport.makeTempDirectory("aoai-audit-collect")
    let database: Database

    init() throws {
        database = try Database(path: dir.appendingPathComponent("audit.db").path)
    }

    func config(_ yaml: String) throws -> Config {
        let path = try TestSupport.write(yaml, to: dir, name: "aoai-audit.yaml")
        return try Config.load(path: path, environment: ProcessInfo.processInfo.environment)
    }

    func runner(_ config: Config, http: any HTTPTransport, now: Int64 = TimeArgument.nowMicros(), sources: [String] = [],
                concurrency: Int = 4, credentials: @escaping CredentialsFactory = { _, _ throws(AuthError) in FakeTokens() }) -> CollectRunner {
        CollectRunner(database: database, config: config, http: http, credentials: credentials, now: now, sources: sources, maxConcurrency: concurrency)
    }

    func scalar(_ sql: String, _ binds: [SQLValue] = []) throws -> SQLValue? { try database.connection.scalar(sql, binds) }

    func remove() { try? FileManager.default.removeItem(at: dir) }
}

/// Small throw-away git repositories with fixed dates (the `git` binary).
struct GitRepo {
    static let gitPath: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        .map { String($0) + "/git" }.first(where: { FileManager.default.isExecutableFile(atPath: $0) })

    let path: String

    init(at path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try git(["-c", "init.defaultBranch=main", "init", "-q"])
    }

    func commit(_ files: [String: String], message: String, at seconds: Int) throws {
        for (name, content) in files {
            let url = URL(fileURLWithPath: path).appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(content.utf8).write(to: url)
        }
        try git(["add", "-A"])
        try git(["commit", "-q", "--allow-empty", "-m", message], at: seconds)
    }

    func head() throws -> String { try git(["rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines) }

    @discardableResult
    func git(_ arguments: [String], at seconds: Int = 1_600_000_000) throws -> String {
        let r = try TestSupport.run(
            "/usr/bin/env",
            ["git", "-C", path, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "-c", "commit.gpgsign=false"] + arguments,
            environment: ["GIT_AUTHOR_DATE": "@\(seconds) +0000", "GIT_COMMITTER_DATE": "@\(seconds) +0000"])
        guard r.status == 0 else { throw GitRepoError(arguments: arguments, stderr: r.stderr) }
        return r.stdout
    }
}

struct GitRepoError: Error { var arguments: [String]; var stderr: String }
