import AuditCore
import Foundation

/// Why a repository's lockfile history could not be read.
public enum LockfileHistoryError: Error, LocalizedError, Equatable {
    /// The path is missing or is not the top of a git repository (work tree or bare).
    case notARepository(String)
    /// git ran but failed; `message` is its (redacted) standard error.
    case gitFailed(repository: String, message: String)
    /// No `git` executable on `PATH`.
    case gitNotFound

    public var errorDescription: String? {
        switch self {
        case .notARepository(let path):
            return "\(path) is not a git repository: point sdk-versions at the folder that holds .git"
                + " (or at a bare repository)."
        case .gitFailed(let repository, let message):
            return "git failed on \(repository): \(message)"
        case .gitNotFound:
            return "git was not found on PATH: install git (apt-get install git) to read SDK version history."
        }
    }
}

/// SDK version changes over the whole history of one git repository.
///
/// Every dependency file `LockfileParsers.isLockfile` accepts, at any depth, is followed from the
/// first commit to `HEAD`; each change of a tracked package's version (including its first
/// appearance and its removal) becomes one `sdk_bump` `ChangeRecord`:
///
/// ```swift
/// let changes = try LockfileHistory(repository: "/src/app-search").read()
/// // app-search: openai 1.40.0 → 1.51.0 (requirements.txt)
/// ```
///
/// History is walked along the **first parent** (`--first-parent -m`): the mainline is what gets
/// built and deployed, so a bump made on a feature branch is reported once, at the merge that
/// brought it in (with the merge's time and author), and intermediate versions that only ever
/// lived on the branch are not reported. Each commit is compared with its first parent, so
/// renamed files keep their history (`-M`), and a deleted file reports its packages as removed.
///
/// git runs four times per repository whatever its size: two `rev-parse` checks, one
/// `log --raw` restricted to dependency files, and one `cat-file --batch` that streams every
/// distinct blob once.
public struct LockfileHistory: Sendable {
    /// The repository path as given.
    public let repository: String
    /// The application name stamped on every record.
    public let app: String

    /// - Parameters:
    ///   - repository: path of the repository's work tree (or of a bare repository).
    ///   - app: the application name; defaults to the repository folder's name (without `.git`).
    public init(repository: String, app: String? = nil) {
        self.repository = repository
        self.app = app ?? LockfileHistory.defaultApp(repository)
    }

    static func defaultApp(_ repository: String) -> String {
        var url = URL(fileURLWithPath: repository).standardizedFileURL
        if url.lastPathComponent == ".git" { url.deleteLastPathComponent() }
        let name = url.lastPathComponent
        return name.hasSuffix(".git") && name.count > 4 ? String(name.dropLast(4)) : name
    }

    /// Reads the history and returns one record per tracked version change, oldest commit first
    /// (within a commit: files in git's path order, then packages by name).
    ///
    /// - Returns: an empty array for a repository without commits.
    /// - Throws: `LockfileHistoryError` (file-system failures around git become `gitFailed`).
    public func read() throws -> [ChangeRecord] {
        do {
            return try readHistory()
        } catch let error as LockfileHistoryError {
            throw error
        } catch {
            throw LockfileHistoryError.gitFailed(repository: repository, message: Redactor.redact("\(error)"))
        }
    }

    private func readHistory() throws -> [ChangeRecord] {
        let path = URL(fileURLWithPath: repository).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw LockfileHistoryError.notARepository(repository)
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "aoai-audit-git-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let git = Git(executable: try Git.locate(), repository: path, scratch: scratch)

        let check = try git.run(["rev-parse", "--git-dir"]).outcome
        if !check.succeeded {
            if check.stderr.contains("not a git repository") { throw LockfileHistoryError.notARepository(repository) }
            throw git.failure(check, "git rev-parse")
        }
        let head = try git.run(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
        guard head.outcome.succeeded else { return [] }  // no commits yet

        let log = try git.run(
            [
                "-c", "log.showSignature=false", "log", "--first-parent", "-m", "--reverse", "--no-color",
                "--no-abbrev", "--raw", "-M", "-z", "--format=%x01%H%x00%ct%x00%ae", "HEAD", "--",
            ] + LockfileParsers.gitPathspecs)
        guard log.outcome.succeeded else { throw git.failure(log.outcome, "git log") }
        let commits = LockfileHistory.parseLog(log.output)

        var wanted: [String: Set<LockfileParsers.Format>] = [:]
        for commit in commits {
            for file in commit.files {
                if let blob = file.oldBlob, let f = LockfileParsers.format(of: file.oldPath) {
                    wanted[blob, default: []].insert(f)
                }
                if let blob = file.newBlob, let f = LockfileParsers.format(of: file.newPath) {
                    wanted[blob, default: []].insert(f)
                }
            }
        }
        let parsed = try readBlobs(wanted, git: git)

        var records: [ChangeRecord] = []
        for commit in commits {
            for file in commit.files {
                let old =
                    file.oldBlob.flatMap { blob in
                        LockfileParsers.format(of: file.oldPath).flatMap { parsed[BlobKey(blob, $0)] }
                    } ?? [:]
                let new =
                    file.newBlob.flatMap { blob in
                        LockfileParsers.format(of: file.newPath).flatMap { parsed[BlobKey(blob, $0)] }
                    } ?? [:]
                for package in Set(old.keys).union(new.keys).sorted() where old[package] != new[package] {
                    records.append(
                        record(
                            commit: commit, file: file.newPath, package: package, old: old[package], new: new[package],
                            repository: path))
                }
            }
        }
        return records
    }

    // MARK: - Records

    private func record(commit: Commit, file: String, package: String, old: String?, new: String?, repository: String)
        -> ChangeRecord
    {
        let change: String
        switch (old, new) {
        case (nil, let new?): change = "added \(package) \(new)"
        case (let old?, nil): change = "removed \(package) \(old)"
        default: change = "\(package) \(old ?? "") → \(new ?? "")"
        }
        let detail = JSONValue.object(
            JSONObject([
                ("package", .string(package)),
                ("old", old.map(JSONValue.string) ?? .null),
                ("new", new.map(JSONValue.string) ?? .null),
                ("file", .string(file)),
                ("repository", .string(repository)),
                ("commit", .string(commit.id)),
            ]))
        return ChangeRecord(
            dedupeKey: "git:\(app):\(commit.id):\(file):\(package)", timeUs: commit.timeUs, kind: ChangeKind.sdkBump,
            resourceId: "",
            actor: commit.authorEmail.isEmpty ? nil : commit.authorEmail,
            summary: Redactor.redact("\(app): \(change) (\(file))"), detail: Redactor.redact(json: detail).serialized,
            sourceKind: "git", sourceId: commit.id, correlationId: nil, app: app)
    }

    // MARK: - Blobs

    struct BlobKey: Hashable {
        var blob: String
        var format: LockfileParsers.Format
        init(_ blob: String, _ format: LockfileParsers.Format) { self.blob = blob; self.format = format }
    }

    /// Streams every wanted blob through one `git cat-file --batch` and parses it once per format.
    private func readBlobs(_ wanted: [String: Set<LockfileParsers.Format>], git: Git) throws -> [BlobKey: [String:
        String]]
    {
        guard !wanted.isEmpty else { return [:] }
        let ids = wanted.keys.sorted()
        var parsed: [BlobKey: [String: String]] = [:]
        let input = Data(ids.map { $0 + "\n" }.joined().utf8)
        let outcome = try git.execute(["cat-file", "--batch"], input: input) { handle in
            var reader = BatchReader(handle: handle)
            while let header = try reader.line() {
                let fields = header.split(separator: " ")
                // "<id> blob <size>", or "<id> missing" (nothing follows)
                guard fields.count == 3, fields[1] == "blob", let size = Int(fields[2]) else { continue }
                guard let body = try reader.bytes(size + 1) else { break }
                let id = String(fields[0])
                let text = LockfileHistory.decodeText(body.dropLast())
                for format in wanted[id] ?? [] {
                    parsed[BlobKey(id, format)] = LockfileParsers.versions(format: format, content: text)
                }
            }
        }
        guard outcome.succeeded else { throw git.failure(outcome, "git cat-file") }
        return parsed
    }

    /// File bytes as text: UTF-8 (BOM dropped) or UTF-16 with a BOM (Visual Studio writes
    /// project files that way).
    static func decodeText(_ bytes: ArraySlice<UInt8>) -> String {
        let b = Array(bytes)
        if b.count >= 2 && (b[0] == 0xFF && b[1] == 0xFE || b[0] == 0xFE && b[1] == 0xFF) {
            let little = b[0] == 0xFF
            var units: [UInt16] = []
            units.reserveCapacity(b.count / 2)
            var i = 2
            while i + 1 < b.count {
                units.append(little ? UInt16(b[i]) | UInt16(b[i + 1]) << 8 : UInt16(b[i]) << 8 | UInt16(b[i + 1]))
                i += 2
            }
            return String(decoding: units, as: UTF16.self)
        }
        if b.starts(with: [0xEF, 0xBB, 0xBF]) { return String(decoding: b.dropFirst(3), as: UTF8.self) }
        return String(decoding: b, as: UTF8.self)
    }
}

// MARK: - Log parsing

extension LockfileHistory {
    /// One first-parent commit that touched dependency files.
    struct Commit: Equatable {
        var id: String
        var timeUs: Int64
        var authorEmail: String
        var files: [FileChange]
    }

    /// One file as `git log --raw` reports it against the first parent.
    struct FileChange: Equatable {
        var oldPath: String
        var newPath: String
        /// nil when the file was added (or is not a regular file on that side).
        var oldBlob: String?
        /// nil when the file was deleted (or is not a regular file on that side).
        var newBlob: String?
    }

    /// Parses `git log -z --raw --no-abbrev --format=%x01%H%x00%ct%x00%ae` output.
    ///
    /// With `-z` every field ends with NUL: the formatted header, then for each file
    /// `:<old mode> <new mode> <old id> <new id> <status>` followed by one path, or two for a
    /// rename or copy (`R100`, `C75`). Files that `LockfileParsers.isLockfile` rejects on both
    /// sides are dropped, as are commits left without files.
    static func parseLog(_ output: Data) -> [Commit] {
        var commits: [Commit] = []
        var tokens = output.split(separator: 0, omittingEmptySubsequences: false).makeIterator()
        var current: Commit?
        func text(_ bytes: Data.SubSequence) -> String {
            var s = String(decoding: bytes, as: UTF8.self)
            while s.first == "\n" { s.removeFirst() }
            return s
        }
        func finish() {
            if let commit = current, !commit.files.isEmpty { commits.append(commit) }
            current = nil
        }
        while let raw = tokens.next() {
            let token = text(raw)
            if token.isEmpty { continue }
            if token.hasPrefix("\u{01}") {
                finish()
                let id = String(token.dropFirst())
                let seconds = tokens.next().map(text).flatMap { Int64($0) } ?? 0
                let email = tokens.next().map(text) ?? ""
                current = Commit(id: id, timeUs: seconds * 1_000_000, authorEmail: email, files: [])
                continue
            }
            guard token.hasPrefix(":") else { continue }
            let fields = token.dropFirst().split(separator: " ")
            guard fields.count >= 5, let status = fields[4].first else { continue }
            let twoPaths = status == "R" || status == "C"
            guard let first = tokens.next().map(text) else { break }
            let second = twoPaths ? (tokens.next().map(text) ?? first) : first
            let oldPath = first
            let newPath = second
            guard LockfileParsers.isLockfile(oldPath) || LockfileParsers.isLockfile(newPath) else { continue }
            let change = FileChange(
                oldPath: oldPath, newPath: newPath,
                oldBlob: blob(mode: fields[0], id: fields[2]), newBlob: blob(mode: fields[1], id: fields[3]))
            current?.files.append(change)
        }
        finish()
        return commits
    }

    /// The blob id when the side is a regular file (`100644`, `100755`, legacy `100664`) with a
    /// real id; nil for an absent side (all-zero id), a symlink or a submodule.
    private static func blob(mode: Substring, id: Substring) -> String? {
        guard mode.hasPrefix("100"), id.contains(where: { $0 != "0" }) else { return nil }
        return String(id)
    }
}
