import AuditCore
import AuditExport
import AuditTestSupport
import Foundation
import Testing

@Suite struct ExportNamingTests {
    let from = Timestamp.make(year: 2026, month: 11, day: 23)!
    let to = Timestamp.make(year: 2026, month: 11, day: 30, hour: 4, minute: 5, second: 6)!

    @Test func namesFollowTheContract() {
        #expect(ExportNaming.dataFileName(dataset: "changes", fromUs: from, toUs: to, format: .csv, compression: .gzip) == "changes_20261123T000000Z_20261130T040506Z.csv.gz")
        #expect(ExportNaming.dataFileName(dataset: "changes", fromUs: from, toUs: to, format: .csv, compression: .none) == "changes_20261123T000000Z_20261130T040506Z.csv")
        #expect(ExportNaming.dataFileName(dataset: "request_failures", fromUs: from, toUs: to, format: .ndjson, compression: .gzip, revision: 3) == "request_failures_20261123T000000Z_20261130T040506Z_r3.ndjson.gz")
        #expect(ExportNaming.dataFileName(dataset: "bursts", fromUs: from, toUs: to, format: .ndjson, compression: .none) == "bursts_20261123T000000Z_20261130T040506Z.ndjson")
    }

    @Test func parseReadsBackWhatNamingWrites() throws {
        let name = ExportNaming.dataFileName(dataset: "request_rollup", fromUs: from, toUs: to, format: .csv, compression: .gzip, revision: 2)
        let p = try #require(ExportNaming.parse(name))
        #expect(p.dataset == "request_rollup" && p.fromUs == from && p.toUs == to && p.revision == 2)
        #expect(ExportNaming.parse(name + ".manifest.json") == nil)
        #expect(ExportNaming.parse(".aoai-audit-" + name + ".12.tmp") == nil)
    }

    @Test func anExistingNameGetsTheNextRevision() throws {
        let dir = TestSupport.makeTempDirectory().path
        let first = ExportNaming.freeDataFileName(in: dir, dataset: "changes", fromUs: from, toUs: to, format: .csv, compression: .gzip)
        try TestSupport.write("x", to: URL(fileURLWithPath: dir), name: first)
        let second = ExportNaming.freeDataFileName(in: dir, dataset: "changes", fromUs: from, toUs: to, format: .csv, compression: .gzip)
        #expect(second == "changes_20261123T000000Z_20261130T040506Z_r2.csv.gz")
        // A manifest alone also reserves its name.
        try TestSupport.write("{}", to: URL(fileURLWithPath: dir), name: second + ".manifest.json")
        #expect(ExportNaming.freeDataFileName(in: dir, dataset: "changes", fromUs: from, toUs: to, format: .csv, compression: .gzip).hasSuffix("_r3.csv.gz"))
    }

    @Test func tempNamesAreDotPrefixedAndCarryTheirWriter() {
        let t = ExportNaming.tempName(for: "changes_a_b.csv.gz", pid: 4242)
        #expect(t == ".aoai-audit-changes_a_b.csv.gz.4242.tmp")
        #expect(ExportNaming.tempOwner(t) == 4242)
        #expect(ExportNaming.tempOwner("changes_a_b.csv.gz") == nil)
    }

    @Test func everyBuiltInDatasetParsesWithTimeFirst() throws {
        let catalog = try ExportCatalog()
        #expect(catalog.names == ["activity_events", "bursts", "changes", "probes", "request_failures", "request_rollup", "vendor_incidents"])
        for ds in catalog.datasets {
            #expect(ds.schemaVersion == 1)
            #expect(ds.sql.contains("AS time,"), "\(ds.name): time column first")
        }
        #expect(catalog.datasets.first { $0.name == "request_rollup" }?.sequenceColumn == nil)
        #expect(catalog.datasets.first { $0.name == "request_rollup" }?.settleUs == 3 * Timestamp.microsPerHour)
        #expect(catalog.datasets.first { $0.name == "bursts" }?.sequenceColumn == "detected_us")
        #expect(throws: ExportError.unknownDataset(name: "nope", available: catalog.names)) { try catalog.select(["nope"]) }
    }
}
