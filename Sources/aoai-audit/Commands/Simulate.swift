import ArgumentParser
import AzureSimulator
import Foundation

#if canImport(Glibc)
import Glibc
#endif

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a scenario folder as a local, fake Azure (developer and demo tool).",
        discussion: """
            Starts the built-in Azure simulator on 127.0.0.1 only, over a folder written by \
            `aoai-audit generate` (with or without --planted): the Entra token endpoint, the Activity \
            Log, role assignments and accounts (ARM), the Blob service with the diagnostic-settings \
            export containers, Log Analytics (planted scenarios) and the status feeds, all on one \
            port. Everything it serves is fake data from that folder, and it accepts only its own \
            fake test identity: never point it at real credentials or expose it beyond loopback.

            Large folders load in well under a second: the export-layout PT1H.json files are served \
            straight from disk, range by range.

            Prints one line, `simulator listening on http://127.0.0.1:PORT (scenario DIR); stop with \
            Ctrl-C`, once it accepts connections, and runs until SIGINT or SIGTERM (exit 0). With \
            --write-config, first writes an aoai-audit config pointing every endpoint at it, with \
            one source per kind it serves; its header comment gives the environment variables of the \
            simulator's test identity to export.

            Example:
              aoai-audit generate --out /tmp/estate --records 100000 --days 2 --seed 7
              aoai-audit simulate --scenario /tmp/estate --write-config /tmp/sim.yaml &
              export AZURE_TENANT_ID=99999999-8888-7777-6666-555555555555 \\
                AZURE_CLIENT_ID=12345678-aaaa-bbbb-cccc-1234567890ab AZURE_CLIENT_SECRET=sim-client-secret-value
              aoai-audit collect --config /tmp/sim.yaml --db /tmp/sim.db
              kill %1

            Fault knobs (each fires on every Nth request of its kind): --throttle-every (429 with \
            Retry-After on ARM, blob and Log Analytics requests), --server-error-every (503 on Get \
            Blob), --truncate-every (Get Blob sends half its body and closes), --reset-every (Get \
            Blob answered by a TCP reset).
            """
    )

    @Option(help: ArgumentHelp("The scenario folder (`aoai-audit generate --out DIR`, planted or not).", valueName: "dir"))
    var scenario: String

    @Option(help: ArgumentHelp("Port on 127.0.0.1 (0: any free port).", valueName: "n"))
    var port = 0

    @Option(help: ArgumentHelp("Write an aoai-audit config pointing at the simulator to this file.", valueName: "path"))
    var writeConfig: String?

    @Option(help: ArgumentHelp("Every Nth ARM, blob or Log Analytics request answers 429.", valueName: "n"))
    var throttleEvery: Int?

    @Option(help: ArgumentHelp("Every Nth Get Blob answers 503 ServerBusy.", valueName: "n"))
    var serverErrorEvery: Int?

    @Option(help: ArgumentHelp("Every Nth Get Blob sends half its body, then closes.", valueName: "n"))
    var truncateEvery: Int?

    @Option(help: ArgumentHelp("Every Nth Get Blob is answered by a TCP reset.", valueName: "n"))
    var resetEvery: Int?

    @Option(help: ArgumentHelp("Every ARM, blob and Log Analytics answer waits this long.", valueName: "seconds"))
    var slow: Double?

    @Option(help: ArgumentHelp("Lifetime of issued tokens (default 3599).", valueName: "seconds"))
    var expireTokensAfter: Double?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        for (name, value) in [("--throttle-every", throttleEvery), ("--server-error-every", serverErrorEvery),
                              ("--truncate-every", truncateEvery), ("--reset-every", resetEvery)] {
            if let value, value < 1 { throw ValidationError("\(name) must be 1 or more") }
        }
        if let slow, !(slow >= 0 && slow <= 600) { throw ValidationError("--slow must be between 0 and 600 seconds") }
        if let e = expireTokensAfter, !(e >= 1) { throw ValidationError("--expire-tokens-after must be at least 1 second") }
    }

    mutating func run() throws {
        var options = SimAzureOptions()
        options.throttleEvery = throttleEvery
        options.serverErrorEvery = serverErrorEvery
        options.truncateEvery = truncateEvery
        options.resetEvery = resetEvery
        options.slowSeconds = slow
        options.expireTokensAfter = expireTokensAfter
        let folder = scenario
        let simOptions = options
        let azure = try userFacing { try SimAzure(scenario: folder, options: simOptions) }

        // Signals are handled by dispatch sources; their default action must not kill us first.
        let stop = TerminationSignals()

        let requestedPort = port
        let server = try userFacing { try SimHTTPServer(port: requestedPort, handler: azure.handler) }
        if let path = writeConfig {
            try userFacing { try SimulatorConfig.write(SimulatorConfig.yaml(azure: azure, baseURL: server.baseURL, scenario: folder), to: path) }
        }
        Terminal.err(SimulatorConfig.summary(azure))
        Terminal.out("simulator listening on \(server.baseURL) (scenario \(folder)); stop with Ctrl-C\n")

        stop.wait()
        server.stop()
        withExtendedLifetime(stop) {}
        Terminal.err("simulator stopped after \(azure.requestCount) requests")
    }
}
