import ArgumentParser
import AuditCore
import AuditExport
import AuditStore
import Foundation

/// Options every command takes (contracts.md: they follow the subcommand).
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Database file (else $AOAI_AUDIT_DB, else config 'database', else ./aoai-audit.db).", valueName: "path"))
    var db: String?

    @Option(name: .long, help: ArgumentHelp("Config file (else $AOAI_AUDIT_CONFIG, else ./aoai-audit.yaml when present).", valueName: "path"))
    var config: String?

    @Flag(name: .shortAndLong, help: "Print only errors and the final summary line.")
    var quiet = false

    /// The loaded config, if any.
    func loadConfig() throws -> Config? {
        let env = ProcessInfo.processInfo.environment
        if let path = config ?? env["AOAI_AUDIT_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) {
            return try Config.load(path: path)
        }
        if FileManager.default.fileExists(atPath: "aoai-audit.yaml") { return try Config.load(path: "aoai-audit.yaml") }
        return nil
    }

    /// The database path by precedence.
    func databasePath(_ config: Config?) -> String {
        if let db { return db }
        if let e = ProcessInfo.processInfo.environment["AOAI_AUDIT_DB"], !e.isEmpty { return e }
        if let d = config?.database { return d }
        return "aoai-audit.db"
    }

    func openDatabase(readOnly: Bool = false) throws -> (Database, Config?) {
        let config = try loadConfig()
        let path = databasePath(config)
        return (try Database(path: path, readOnly: readOnly), config)
    }
}

/// One-line user-facing failure. argument-parser prints it as `Error: <message>` and exits 1.
struct CLIError: Error, LocalizedError, CustomStringConvertible {
    var message: String
    var errorDescription: String? { message }
    var description: String { message }
}

/// Runs `body`, turning library errors into one clear line.
func userFacing<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as ExitCode {
        throw e
    } catch let e as CleanExit {
        throw e
    } catch let e as ValidationError {
        throw e
    } catch let e as CLIError {
        throw e
    } catch let e as any LocalizedError where e.errorDescription != nil {
        throw CLIError(message: Redactor.redact(e.errorDescription ?? ""))
    } catch {
        throw CLIError(message: Redactor.redact(String(describing: error)))
    }
}

extension RunLock {
    /// The run lock beside `database` for `run` and `demo`: held by another process → its
    /// one-line message on stderr and exit 4 (contracts.md); any other failure → one line, exit 1.
    static func acquireForCLI(database: String) throws -> RunLock {
        do {
            return try RunLock(path: RunLock.path(forDatabase: database))
        } catch {
            if case .held = error {
                Terminal.err(error.description)
                throw ExitCode(4)
            }
            throw CLIError(message: error.description)
        }
    }
}

/// Exit codes (contracts.md).
enum Exit {
    static let losses = ExitCode(3)
}

extension OutputFormat: ExpressibleByArgument {}

enum Terminal {
    static var stdoutIsTTY: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stderrIsTTY: Bool { isatty(STDERR_FILENO) == 1 }

    static func err(_ s: String) {
        FileHandle.standardError.write(Data((s.hasSuffix("\n") ? s : s + "\n").utf8))
    }

    static func out(_ s: String) {
        FileHandle.standardOutput.write(Data(s.utf8))
    }

    /// Rewrites the progress line on stderr (callers check `stderrIsTTY`); nil clears it.
    static func progress(_ line: String?) {
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + (line ?? "")).utf8))
    }
}

/// Parses `--since/--until` style values.
func parseTime(_ s: String?, name: String) throws -> Int64? {
    guard let s else { return nil }
    guard let v = TimeArgument.parse(s, now: TimeArgument.nowMicros()) else {
        throw ValidationError("--\(name) '\(s)' is not a time: use an ISO date/time (2026-11-23, 2026-11-23T04:00:00Z) or a duration (7d, 36h, 90m)")
    }
    return v
}

/// SIGINT and SIGTERM turned into a wait: their default action is ignored so the process can
/// stop its servers cleanly and exit 0 (`simulate`, `demo --keep-running`).
final class TerminationSignals {
    private let semaphore = DispatchSemaphore(value: 0)
    private var sources: [any DispatchSourceSignal] = []

    init() {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let semaphore = self.semaphore
        sources = [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { semaphore.signal() }
            source.resume()
            return source
        }
    }

    /// Blocks until SIGINT or SIGTERM arrives.
    func wait() { semaphore.wait() }

    deinit { sources.forEach { $0.cancel() } }
}
