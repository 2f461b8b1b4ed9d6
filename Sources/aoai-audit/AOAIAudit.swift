import ArgumentParser

@main
struct AOAIAudit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aoai-audit",
        abstract: "Audit trail and root-cause finder for Azure OpenAI 401/403 failures.",
        discussion: """
            Keeps a local, searchable record of everything that can break authentication against \
            Azure OpenAI (key rotations, local-auth toggles, role assignments, SDK and API-version \
            bumps, vendor incidents) and of the failing requests themselves.

            Exit codes: 0 done; 1 failed; 3 done with losses (records quarantined, a file not \
            loaded, a source failed); 4 another `run` holds the lock; 10 new bursts (with \
            --fail-on-new-bursts); 64 usage error.
            """,
        version: "0.1.0",
        subcommands: [Demo.self, Import.self, Collect.self, Status.self, Query.self, Search.self, Correlate.self, Mark.self, Probe.self, Doctor.self, Generate.self, Simulate.self, Export.self, Run.self, Schedule.self]
    )
}
