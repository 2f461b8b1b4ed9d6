/// The SQL folders embedded into the binary (`migrations/`, `queries/`, `exports/`).
///
/// SwiftPM's `.embedInCode` gives each file a mangled static name and no way to enumerate
/// them, so the list is kept by hand here; `SQLFilesTests` checks it against the folders on
/// disk so a file added without a line here fails the build's tests.
public enum SQLFiles {
    /// `(file name, contents)` of every migration, in order.
    public static let migrations: [(name: String, sql: String)] = [
        ("0001_init.sql", text(PackageResources._001_init_sql)),
        ("0002_correlation.sql", text(PackageResources._002_correlation_sql)),
        ("0003_collect.sql", text(PackageResources._003_collect_sql)),
        ("0004_probes.sql", text(PackageResources._004_probes_sql)),
    ]

    /// `(file name, contents)` of every built-in named query.
    public static let queries: [(name: String, sql: String)] = [
        ("account_config_changes.sql", text(PackageResources.account_config_changes_sql)),
        ("auth_failures_by_hour.sql", text(PackageResources.auth_failures_by_hour_sql)),
        ("changes_before.sql", text(PackageResources.changes_before_sql)),
        ("failures_by_caller.sql", text(PackageResources.failures_by_caller_sql)),
        ("key_rotations.sql", text(PackageResources.key_rotations_sql)),
        ("probes.sql", text(PackageResources.probes_sql)),
        ("quarantine_summary.sql", text(PackageResources.quarantine_summary_sql)),
        ("role_assignment_changes.sql", text(PackageResources.role_assignment_changes_sql)),
        ("top_error_codes.sql", text(PackageResources.top_error_codes_sql)),
        ("vendor_incidents.sql", text(PackageResources.vendor_incidents_sql)),
    ]

    /// `(file name, contents)` of every export dataset (`exports/*.export.sql`).
    public static let exports: [(name: String, sql: String)] = [
        ("activity_events.export.sql", text(PackageResources.activity_events_export_sql)),
        ("bursts.export.sql", text(PackageResources.bursts_export_sql)),
        ("changes.export.sql", text(PackageResources.changes_export_sql)),
        ("probes.export.sql", text(PackageResources.probes_export_sql)),
        ("request_failures.export.sql", text(PackageResources.request_failures_export_sql)),
        ("request_rollup.export.sql", text(PackageResources.request_rollup_export_sql)),
        ("vendor_incidents.export.sql", text(PackageResources.vendor_incidents_export_sql)),
    ]

    private static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
