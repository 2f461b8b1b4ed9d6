import AuditCore
import Foundation

extension LockfileHistory {
    /// Runs the `git` binary for one repository.
    ///
    /// Standard input and standard error go through files in a private temporary folder rather
    /// than pipes: only standard output is a pipe, drained on the calling thread before
    /// `waitUntilExit`, so no second thread is needed and a chatty stderr or a process that
    /// exits early can never deadlock the reader or raise `SIGPIPE` on a writer.
    struct Git {
        let executable: URL
        let repository: String
        let scratch: URL

        /// The result of one git invocation.
        struct Outcome {
            var status: Int32
            var stderr: String
            var succeeded: Bool { status == 0 }
        }

        /// Finds `git` on `PATH`.
        ///
        /// - Throws: `LockfileHistoryError.gitNotFound` when no executable `git` is on `PATH`.
        static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
            let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
            for dir in path.split(separator: ":") where !dir.isEmpty {
                let candidate = String(dir) + "/git"
                if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
            }
            throw LockfileHistoryError.gitNotFound
        }

        /// The environment git runs with: the caller's, minus variables that would redirect git to
        /// another repository, plus a ceiling so that git never picks up an enclosing repository
        /// when `repository` itself is not one, a C locale for stable messages, and no optional
        /// locks (reading must not write the index).
        var environment: [String: String] {
            var env = ProcessInfo.processInfo.environment
            for name in [
                "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                "GIT_NAMESPACE", "GIT_COMMON_DIR", "GIT_PREFIX", "GIT_CEILING_DIRECTORIES",
                "GIT_DISCOVERY_ACROSS_FILESYSTEM",
            ] {
                env.removeValue(forKey: name)
            }
            env["GIT_CEILING_DIRECTORIES"] = URL(fileURLWithPath: repository).deletingLastPathComponent().path
            env["GIT_OPTIONAL_LOCKS"] = "0"
            env["GIT_TERMINAL_PROMPT"] = "0"
            env["LC_ALL"] = "C"
            return env
        }

        /// Runs `git -C <repository> <arguments>` and returns its whole standard output.
        func run(_ arguments: [String]) throws -> (output: Data, outcome: Outcome) {
            var output = Data()
            let outcome = try execute(arguments, input: nil) { handle in
                output = try handle.readToEnd() ?? Data()
            }
            return (output, outcome)
        }

        /// Runs git with `input` as standard input, handing standard output to `consume` as it
        /// arrives; `consume` must read to the end.
        func execute(_ arguments: [String], input: Data?, consume: (FileHandle) throws -> Void) throws -> Outcome {
            let id = UUID().uuidString
            let errURL = scratch.appendingPathComponent("stderr-\(id)")
            let inURL = scratch.appendingPathComponent("stdin-\(id)")
            guard FileManager.default.createFile(atPath: errURL.path, contents: nil) else {
                throw LockfileHistoryError.gitFailed(repository: repository, message: "cannot create \(errURL.path)")
            }
            defer {
                try? FileManager.default.removeItem(at: errURL)
                try? FileManager.default.removeItem(at: inURL)
            }
            let process = Process()
            process.executableURL = executable
            process.arguments = ["-C", repository] + arguments
            process.environment = environment
            let stdout = Pipe()
            process.standardOutput = stdout
            let errHandle = try FileHandle(forWritingTo: errURL)
            defer { try? errHandle.close() }
            process.standardError = errHandle
            var inHandle: FileHandle?
            if let input {
                try input.write(to: inURL)
                inHandle = try FileHandle(forReadingFrom: inURL)
                process.standardInput = inHandle
            } else {
                process.standardInput = FileHandle.nullDevice
            }
            defer { try? inHandle?.close() }
            do {
                try process.run()
            } catch {
                throw LockfileHistoryError.gitFailed(repository: repository, message: "cannot start git: \(error)")
            }
            let reader = stdout.fileHandleForReading
            var consumeError: (any Error)?
            do {
                try consume(reader)
            } catch {
                consumeError = error
                process.terminate()
                _ = try? reader.readToEnd()
            }
            process.waitUntilExit()
            if let consumeError { throw consumeError }
            let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
            let status =
                process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
            return Outcome(status: status, stderr: stderr.trimmingSpaces)
        }

        /// The error for a failed invocation.
        func failure(_ outcome: Outcome, _ what: String) -> LockfileHistoryError {
            let message = outcome.stderr.isEmpty ? "\(what) exited with status \(outcome.status)" : outcome.stderr
            return .gitFailed(repository: repository, message: Redactor.redact(message))
        }
    }

    /// Buffered reading of `git cat-file --batch` output: header lines and sized bodies.
    struct BatchReader {
        let handle: FileHandle
        private var buffer: [UInt8] = []
        private var start = 0
        private var atEOF = false

        init(handle: FileHandle) { self.handle = handle }

        /// Reads more bytes into the buffer; false at end of input.
        private mutating func fill() throws -> Bool {
            if atEOF { return false }
            if start > 0 && start >= buffer.count / 2 {
                buffer.removeFirst(start)
                start = 0
            }
            guard let chunk = try handle.read(upToCount: 1 << 16), !chunk.isEmpty else {
                atEOF = true
                return false
            }
            buffer.append(contentsOf: chunk)
            return true
        }

        /// The next line without its `\n`; nil at end of input.
        mutating func line() throws -> String? {
            var scanFrom = start
            while true {
                if let nl = buffer[scanFrom...].firstIndex(of: 0x0A) {
                    let text = String(decoding: buffer[start..<nl], as: UTF8.self)
                    start = nl + 1
                    return text
                }
                scanFrom = buffer.count
                let offset = scanFrom - start
                guard try fill() else {
                    if start < buffer.count {
                        let text = String(decoding: buffer[start...], as: UTF8.self)
                        start = buffer.count
                        return text
                    }
                    return nil
                }
                scanFrom = start + offset
            }
        }

        /// Exactly `count` bytes (nil when input ends first).
        mutating func bytes(_ count: Int) throws -> ArraySlice<UInt8>? {
            while buffer.count - start < count {
                guard try fill() else { return nil }
            }
            let slice = buffer[start..<(start + count)]
            start += count
            return slice
        }
    }
}
