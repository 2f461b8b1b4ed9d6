import AuditCore
import AuditStore
import Foundation

/// `type: sdk-versions` — the lockfile history of git repositories (`LockfileHistory`, the
/// reader `import` uses for a repository), as `sdk_bump` changes.
///
/// ```yaml
/// - name: app-sdks
///   type: sdk-versions
///   repos: [../checkout-service, /srv/git/search.git]   # relative to the config file's folder
/// ```
///
/// The cursor of each repository is its `HEAD` commit (`head:<path>`): a repository whose
/// `HEAD` has not moved is not read again (dedupe keys make a re-read harmless anyway). Each
/// repository's changes, cursor and coverage window are written in one transaction. A missing
/// repository fails the source after the others were read.
public struct SDKVersionsCollector: Collector {
    public static let type = "sdk-versions"
    public static let keys = ["repos"]
    public static let needsCredentials = false

    /// Repository paths, resolved against the config file's folder.
    public let repositories: [String]
    let reposLine: Int
    let configPath: String

    public init(source: SourceConfig) throws(ConfigError) {
        let repos = try source.strings("repos", required: true)
        guard !repos.isEmpty else { throw source.invalid("repos", "'repos' lists no repository; give the paths of git checkouts") }
        repositories = repos.map { source.path($0) }
        reposLine = source.values["repos"]?.line ?? source.line
        configPath = source.configPath
    }

    public func collect(_ context: CollectContext) throws -> SourceOutcome {
        let name = context.source.name
        var outcome = SourceOutcome(name: name, type: Self.type)
        outcome.lagSeconds = 0  // HEAD is read as it is now
        var failures: [String] = []
        for repo in repositories {
            do {
                try read(repo, context: context, outcome: &outcome)
            } catch {
                failures.append(Self.describe(error, repo: repo, at: "\(configPath):\(reposLine)"))
            }
        }
        if let first = failures.first {
            throw SDKVersionsError(message: first + (failures.count > 1 ? " (and \(failures.count - 1) more failing repositor\(failures.count == 2 ? "y" : "ies"))" : ""))
        }
        return outcome
    }

    func read(_ repo: String, context: CollectContext, outcome: inout SourceOutcome) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: repo, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SDKVersionsError(message: "repository \(repo) does not exist")
        }
        let cursor = "head:" + repo
        let head = try Self.head(of: repo)
        let scopeEnd = try context.store.withConnection { c in try c.coverageEnd(source: context.source.name, scope: repo) }
        if let head, context.checkpoints[cursor] == head {
            context.log("\(repo): HEAD \(head.prefix(12)) unchanged, not read")
            let window = CoverageWindow(scope: repo, fromUs: min(scopeEnd ?? context.now, context.now), toUs: context.now, records: 0)
            outcome.counts += try context.store.write(RecordBatch(), source: context.source.name, coverage: [window])
            return
        }
        let changes = try LockfileHistory(repository: repo).read()
        outcome.pages += 1
        outcome.records += changes.count
        var batch = RecordBatch()
        batch.changes = changes
        batch.read = changes.count
        let from = scopeEnd ?? changes.map(\.timeUs).min() ?? context.now
        let window = CoverageWindow(scope: repo, fromUs: min(from, context.now), toUs: context.now, records: changes.count)
        outcome.counts += try context.store.write(batch, source: context.source.name, checkpoints: [(cursor, head ?? "")], coverage: [window])
        context.log("\(repo): \(changes.count) version changes up to \(head.map { String($0.prefix(12)) } ?? "(no commits)")")
    }

    /// The `HEAD` commit id; nil for a repository without commits.
    static func head(of repo: String) throws -> String? {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("aoai-audit-head-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let git = LockfileHistory.Git(executable: try LockfileHistory.Git.locate(), repository: repo, scratch: scratch)
        let check = try git.run(["rev-parse", "--git-dir"]).outcome
        guard check.succeeded else {
            if check.stderr.contains("not a git repository") { throw LockfileHistoryError.notARepository(repo) }
            throw git.failure(check, "git rev-parse")
        }
        let r = try git.run(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
        guard r.outcome.succeeded else { return nil }
        let id = String(decoding: r.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty ? nil : id
    }

    static func describe(_ error: any Error, repo: String, at location: String) -> String {
        let text: String
        if let e = error as? SDKVersionsError {
            text = e.message
        } else if let e = error as? any LocalizedError, let d = e.errorDescription {
            text = d
        } else {
            text = "\(repo): \(error)"
        }
        return text + " ('repos' at \(location); relative paths are relative to the config file's folder)"
    }
}

/// A repository the `sdk-versions` source could not read.
struct SDKVersionsError: Error, CustomStringConvertible, LocalizedError {
    var message: String
    var description: String { message }
    var errorDescription: String? { message }
}
