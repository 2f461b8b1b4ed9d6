import AuditCore
import AuditTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `aoai-audit simulate` as a subprocess: its listening line, the config it writes, `collect`
/// against it, and a clean exit on SIGTERM.
@Suite(.serialized) struct SimulateCLITests {
    /// The simulator subprocess, its stdout read line by line on a thread of its own.
    final class Simulator: @unchecked Sendable {
        let process = Process()
        private let lock = NSLock()
        private var lines: [String] = []
        private var stderrText = Data()
        private let done = DispatchGroup()

        init(_ arguments: [String]) throws {
            process.executableURL = URL(fileURLWithPath: TestSupport.cliPath)
            process.arguments = arguments
            var env = ProcessInfo.processInfo.environment
            env["AOAI_AUDIT_DB"] = nil
            env["AOAI_AUDIT_CONFIG"] = nil
            process.environment = env
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let outHandle = out.fileHandleForReading, errHandle = err.fileHandleForReading
            done.enter()
            DispatchQueue.global().async { [self] in
                var pending = Data()
                while true {
                    let chunk = outHandle.availableData
                    if chunk.isEmpty { break }
                    pending.append(chunk)
                    while let nl = pending.firstIndex(of: 0x0A) {
                        let line = String(decoding: pending[pending.startIndex..<nl], as: UTF8.self)
                        pending.removeSubrange(pending.startIndex...nl)
                        lock.lock(); lines.append(line); lock.unlock()
                    }
                }
                done.leave()
            }
            done.enter()
            DispatchQueue.global().async { [self] in
                let data = errHandle.readDataToEndOfFile()
                lock.lock(); stderrText = data; lock.unlock()
                done.leave()
            }
        }

        /// The first stdout line, waiting up to `seconds`.
        func firstLine(within seconds: Double) -> String? {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                lock.lock(); let first = lines.first; lock.unlock()
                if let first { return first }
                if !process.isRunning { break }
                usleep(20_000)
            }
            lock.lock(); defer { lock.unlock() }
            return lines.first
        }

        /// Waits up to `seconds` for the process to end; its status, or nil when it still runs.
        func wait(within seconds: Double) -> (status: Int32, reason: Process.TerminationReason)? {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            guard !process.isRunning else { return nil }
            _ = done.wait(timeout: .now() + 5)
            return (process.terminationStatus, process.terminationReason)
        }

        var stderr: String {
            lock.lock(); defer { lock.unlock() }
            return String(decoding: stderrText, as: UTF8.self)
        }

        func kill() { if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) } }
    }

    @Test func collectsFromTheSimulatorAndStopsCleanlyOnSIGTERM() throws {
        let cli = CLI()
        let data = cli.dir.appendingPathComponent("data").path
        let generated = try TestSupport.cli(["generate", "--out", data, "--records", "5000", "--days", "2", "--seed", "7"])
        try #require(generated.status == 0, "\(generated.stderr)")
        // "wrote 224 files, 5000 request records, …"
        let written = generated.stdout.split(separator: ",").first { $0.hasSuffix(" request records") }
            .flatMap { Int64($0.trimmingSpaces.split(separator: " ").first ?? "") }
        let expected = try #require(written, "\(generated.stdout)")
        #expect(expected == 5000)

        let config = cli.dir.appendingPathComponent("sim.yaml").path
        let sim = try Simulator(["simulate", "--scenario", data, "--port", "0", "--write-config", config])
        defer { sim.kill() }
        let line = try #require(sim.firstLine(within: 20), "no listening line; stderr: \(sim.stderr)")
        #expect(line.hasPrefix("simulator listening on http://127.0.0.1:") && line.hasSuffix("(scenario \(data)); stop with Ctrl-C"), "\(line)")
        let base = String(line.dropFirst("simulator listening on ".count).prefix { $0 != " " })
        #expect(Int(base.split(separator: ":").last ?? "").map { $0 > 0 } == true, "\(base)")

        // The config: every endpoint at the simulator, the credentials to export in its header.
        let yaml = try String(contentsOfFile: config, encoding: .utf8)
        #expect(yaml.contains("  arm: \(base)\n") && yaml.contains("  login: \(base)\n") && yaml.contains("  log_analytics: \(base)\n"), "\(yaml)")
        #expect(yaml.contains("auth: client-secret") && yaml.contains("type: diagnostics-blobs") && yaml.contains("account_url: \(base)/simstorage"))
        #expect(yaml.contains("type: activity-log") && yaml.contains("type: rbac-snapshot"), "\(yaml)")
        var env: [String: String] = ["NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"]
        for l in yaml.split(separator: "\n") where l.hasPrefix("#   export AZURE_") {
            let kv = l.dropFirst("#   export ".count).split(separator: "=", maxSplits: 1)
            if kv.count == 2 { env[String(kv[0])] = String(kv[1]) }
        }
        #expect(Set(env.keys).isSuperset(of: ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"]), "\(yaml)")

        let collected = try cli.run(["collect", "--config", config], env: env)
        #expect(collected.status == 0, "\(collected.stdout)\n\(collected.stderr)\nsimulator: \(sim.stderr)")
        #expect(collected.stdout.contains("none failed"), "\(collected.stdout)")
        #expect(try cli.counts()["requests"] == expected)

        // A second run finds nothing new.
        let again = try cli.run(["collect", "--config", config], env: env)
        #expect(again.status == 0 && again.stdout.contains(", 0 new records"), "\(again.stdout)\n\(again.stderr)")

        sim.process.terminate()  // SIGTERM
        let end = sim.wait(within: 10)
        #expect(end?.reason == .exit && end?.status == 0, "\(String(describing: end)); stderr: \(sim.stderr)")
    }

    @Test func helpSaysFakeDataOnLoopbackAndABadFolderExitsOne() throws {
        let cli = CLI()
        let help = try TestSupport.cli(["simulate", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("127.0.0.1") && help.stdout.contains("fake") && help.stdout.contains("loopback"), "\(help.stdout)")
        #expect(help.stdout.contains("aoai-audit simulate --scenario"), "\(help.stdout)")

        let missing = cli.dir.appendingPathComponent("nope").path
        let r = try TestSupport.cli(["simulate", "--scenario", missing])
        #expect(r.status == 1 && r.stderr.contains("no such folder"), "\(r.stderr)")
    }
}
