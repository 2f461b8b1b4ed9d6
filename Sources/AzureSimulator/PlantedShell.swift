#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Runs the two external programs a planted scenario needs: `git` (to build the apps'
/// repositories with real commit dates) and `gzip` (to compress the diagnostics blobs).
///
/// Uses `posix_spawn` and `waitpid` directly: a scenario runs a few dozen short commands, and
/// `Foundation.Process` adds tens of milliseconds of polling to each.
enum PlantedShell {
    /// The executable `name` on `PATH`, or nil.
    static func locate(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = String(dir) + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `program` with `arguments`, with `environment` added to a cleaned copy of this
    /// process's (no variables that would point git at another repository, no user or system
    /// git configuration, a C locale). Standard input is `/dev/null`.
    /// - Returns: standard output.
    /// - Throws: `PlantedError.commandFailed` when the program is missing, cannot start, or exits non-zero.
    @discardableResult
    static func run(_ program: String, _ arguments: [String], environment: [String: String] = [:]) throws(PlantedError) -> String {
        guard let executable = locate(program) else {
            throw .commandFailed(program: program, arguments: arguments, message: "\(program) is not on PATH")
        }
        var env = ProcessInfo.processInfo.environment
        for name in [
            "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
            "GIT_NAMESPACE", "GIT_COMMON_DIR", "GIT_PREFIX", "GIT_CEILING_DIRECTORIES", "GZIP",
        ] {
            env.removeValue(forKey: name)
        }
        env["GIT_CONFIG_NOSYSTEM"] = "1"
        env["GIT_CONFIG_GLOBAL"] = "/dev/null"
        env["GIT_TERMINAL_PROMPT"] = "0"
        env["LC_ALL"] = "C"
        for (k, v) in environment { env[k] = v }

        let scratch = NSTemporaryDirectory() + "/planted-\(getpid())-\(UUID().uuidString)"
        let outPath = scratch + ".out", errPath = scratch + ".err"
        defer {
            unlink(outPath)
            unlink(errPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard spawned == 0 else {
            throw .commandFailed(program: program, arguments: arguments, message: String(cString: strerror(spawned)))
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { throw .commandFailed(program: program, arguments: arguments, message: "waitpid: \(errno)") }
        }
        let exited = (status & 0x7F) == 0
        let code = (status >> 8) & 0xFF
        guard exited, code == 0 else {
            let message = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            throw .commandFailed(
                program: program, arguments: arguments,
                message: (exited ? "exit \(code)" : "killed by signal \(status & 0x7F)") + ": "
                    + message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    }
}
