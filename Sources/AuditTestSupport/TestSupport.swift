import Foundation

/// Helpers shared by the test targets (temporary folders, the shared fixtures, the built CLI).
public enum TestSupport {
    /// The repository root, from this file's location (`Sources/AuditTestSupport/…`).
    public static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// `../shared/fixtures` beside the repository, when present (CI has it).
    public static var sharedFixtures: URL? {
        let u = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
        return FileManager.default.fileExists(atPath: u.path) ? u : nil
    }

    /// True when `../shared/fixtures` exists; tests that need it are skipped (and say so) otherwise.
    public static var hasSharedFixtures: Bool { sharedFixtures != nil }

    /// A fresh temporary folder.
    public static func makeTempDirectory(_ name: String = "aoai-audit-test") -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    /// Writes `text` to `dir/name` and returns the path.
    @discardableResult
    public static func write(_ text: String, to dir: URL, name: String) throws -> String {
        let u = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: u)
        return u.path
    }

    /// Gzips a file with the system `gzip` (tests only).
    public static func gzip(_ path: String) throws -> String {
        _ = try run("/bin/sh", ["-c", "gzip -kf '\(path)'"])
        return path + ".gz"
    }

    /// The built `aoai-audit` binary (beside the test bundle).
    public static var cliPath: String {
        let candidates = [
            Bundle.main.bundleURL.appendingPathComponent("aoai-audit").path,
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("aoai-audit").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    public struct ProcessResult: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs a program, draining both pipes before waiting (a child may write more than a pipe buffer).
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], cwd: String? = nil) throws -> ProcessResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["AOAI_AUDIT_DB"] = nil
        env["AOAI_AUDIT_CONFIG"] = nil
        for (k, v) in environment { env[k] = v }
        p.environment = env
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let errBox = DataBox()
        let group = DispatchGroup()
        group.enter()
        let errHandle = err.fileHandleForReading
        DispatchQueue.global().async {
            errBox.data = errHandle.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let errData = errBox.data
        p.waitUntilExit()
        return ProcessResult(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs the CLI.
    public static func cli(_ arguments: [String], environment: [String: String] = [:], cwd: String? = nil) throws -> ProcessResult {
        try run(cliPath, arguments, environment: environment, cwd: cwd)
    }
}

/// Written once by the reader thread and read only after `DispatchGroup.wait()`, which orders
/// the two accesses.
private final class DataBox: @unchecked Sendable {
    var data = Data()
}
