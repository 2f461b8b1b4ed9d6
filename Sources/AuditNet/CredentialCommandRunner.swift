import Foundation

/// What a finished command printed. `stdout` of `az account get-access-token` holds a token:
/// it is parsed, never shown.
public struct CommandOutput: Sendable {
    public var status: Int32
    public var stdout: [UInt8]
    public var stderr: [UInt8]

    public init(status: Int32, stdout: [UInt8], stderr: [UInt8] = []) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Why a command did not run to completion.
public enum CommandRunError: Error, Sendable, CustomStringConvertible {
    case notFound(executable: String)
    case timedOut(executable: String, seconds: Double)
    case launchFailed(executable: String, message: String)

    public var description: String {
        switch self {
        case .notFound(let e): return "\(e) not found"
        case .timedOut(let e, let s): return "\(e) did not finish within \(s == s.rounded() ? String(Int(s)) : String(s)) s"
        case .launchFailed(let e, let m): return "cannot run \(e): \(m)"
        }
    }
}

/// How credentials find and run a program (the Azure CLI). Injectable so that tests can play
/// `az` without one installed.
public struct CommandRunner: Sendable {
    /// The full path of the executable `name` on the `PATH` of `environment`, or nil.
    public var locate: @Sendable (_ name: String, _ environment: [String: String]) -> String?
    /// Runs `executable` with `arguments` and `environment`, stdin closed, and waits at most
    /// `timeout` seconds.
    public var run: @Sendable (_ executable: String, _ arguments: [String], _ environment: [String: String], _ timeout: Double) throws(CommandRunError) -> CommandOutput

    public init(
        locate: @escaping @Sendable (_ name: String, _ environment: [String: String]) -> String?,
        run: @escaping @Sendable (_ executable: String, _ arguments: [String], _ environment: [String: String], _ timeout: Double) throws(CommandRunError) -> CommandOutput
    ) {
        self.locate = locate
        self.run = run
    }

    /// Searches `PATH` and runs the program with Foundation's `Process`.
    public static let system = CommandRunner(locate: systemLocate, run: systemRun)

    static func systemLocate(_ name: String, _ environment: [String: String]) -> String? {
        let fm = FileManager.default
        if name.contains("/") { return fm.isExecutableFile(atPath: name) ? name : nil }
        for dir in (environment["PATH"] ?? "").split(separator: ":") where !dir.isEmpty {
            let candidate = String(dir) + (dir.hasSuffix("/") ? "" : "/") + name
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: candidate, isDirectory: &isDir), !isDir.boolValue, fm.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        return nil
    }

    static func systemRun(_ executable: String, _ arguments: [String], _ environment: [String: String], _ timeout: Double) throws(CommandRunError) -> CommandOutput {
        guard FileManager.default.isExecutableFile(atPath: executable) else { throw .notFound(executable: executable) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do {
            try process.run()
        } catch {
            throw .launchFailed(executable: executable, message: "\(error.localizedDescription)")
        }
        // Both pipes are drained while the child runs: it may print more than a pipe buffer.
        let captured = CapturedOutput()
        let readers = DispatchGroup()
        for (handle, isOut) in [(out.fileHandleForReading, true), (err.fileHandleForReading, false)] {
            DispatchQueue.global().async(group: readers) {
                let data = handle.readDataToEndOfFile()
                captured.set(data, stdout: isOut)
            }
        }
        // Foundation reports the exit asynchronously; under a test harness that can lag by a
        // second or so, which only delays the answer.
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            if exited.wait(timeout: .now() + 2) == .timedOut { kill(process.processIdentifier, SIGKILL) }
            // Grandchildren (az is a script running Python) may hold the pipes open: do not
            // wait for the readers.
            throw .timedOut(executable: executable, seconds: timeout)
        }
        // The pipes close when the child and anything it started exit; bound that wait too.
        _ = readers.wait(timeout: .now() + 5)
        let (o, e) = captured.get()
        return CommandOutput(status: process.terminationStatus, stdout: o, stderr: e)
    }
}

/// The two pipes' contents, written from reader threads.
private final class CapturedOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var out: [UInt8] = []
    private var err: [UInt8] = []

    func set(_ data: Data, stdout: Bool) {
        lock.withLock {
            if stdout { out = [UInt8](data) } else { err = [UInt8](data) }
        }
    }

    func get() -> ([UInt8], [UInt8]) { lock.withLock { (out, err) } }
}
