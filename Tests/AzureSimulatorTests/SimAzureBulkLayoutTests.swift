import AuditCore
import AuditTestSupport
import AzureSimulator
import Foundation
import Testing

/// The export layout `aoai-audit generate` writes (`ScenarioGenerator`), served file-backed:
/// blobs named by their path, ranges read from the files, no Log Analytics index by default.
@Suite struct SimAzureBulkLayoutTests {
    static let rr = "insights-logs-requestresponse"
    static let activity = "insights-activity-logs"

    /// A small generated data set (2,000 records over a day), written once per test run.
    /// The temporary folder; removed when the test process exits.
    static let root: String = {
        let dir = TestSupport.makeTempDirectory("sim-bulk").path
        atexit { try? FileManager.default.removeItem(atPath: SimAzureBulkLayoutTests.root) }
        return dir
    }()

    static let written: Result<String, any Error> = {
        let dir = root + "/data"
        var options = GeneratorOptions()
        options.seed = 7
        options.days = 1
        options.requestRecords = 2_000
        return Result { _ = try ScenarioGenerator.write(to: dir, options: options); return dir }
    }()

    /// Relative paths of the files under `dir/sub/resourceId=` (`resourceId=/…/PT1H.json`).
    static func files(_ dir: String, _ sub: String) throws -> [String] {
        let base = dir + "/" + sub
        let all = try FileManager.default.subpathsOfDirectory(atPath: base + "/resourceId=")
        return all.filter { $0.hasSuffix("PT1H.json") }.map { "resourceId=/" + $0 }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    static func headers(_ azure: SimAzure, _ extra: [String: String] = [:]) throws -> [String: String] {
        var h = try Sim.bearer(azure, scope: Sim.storageScope)
        h["x-ms-version"] = "2023-11-03"
        for (k, v) in extra { h[k] = v }
        return h
    }

    static func path(_ name: String, container: String = rr) -> String {
        "/simstorage/\(container)/" + name.split(separator: "/", omittingEmptySubsequences: false).map { Sim.encode(String($0)) }
            .joined(separator: "/")
    }

    @Test func blobsAreTheFilesNamedByTheirPathAndFileBacked() throws {
        let dir = try Self.written.get()
        let azure = try SimAzure(scenario: dir)
        let diagnostics = try Self.files(dir, "diagnostics")
        #expect(!diagnostics.isEmpty)
        #expect(azure.blobNames(container: Self.rr) == diagnostics)
        #expect(azure.blobNames(container: Self.activity) == (try Self.files(dir, "activity")))
        for name in azure.blobNames(container: Self.rr) + azure.blobNames(container: Self.activity).map({ "a:" + $0 }) {
            let (container, blob) = name.hasPrefix("a:") ? (Self.activity, String(name.dropFirst(2))) : (Self.rr, name)
            #expect(azure.isFileBacked(container: container, name: blob) == true, "\(name)")
        }
        // No Log Analytics rows unless asked; the estate still comes from the blobs.
        #expect(azure.diagnosticRecordCount == 0)
        #expect(azure.accountIDs.count == 4)
        #expect(azure.subscriptions.count == 2)
        // Activity REST pages load as before.
        #expect(azure.subscriptions.reduce(0) { $0 + azure.activityEventCount(subscription: $1) } > 0)
        // The clock starts an hour after the newest blob's hour.
        let newest = diagnostics.compactMap { name -> Int64? in
            let parts = name.split(separator: "/").filter { $0.contains("=") }.map { $0.split(separator: "=").last.map(String.init) ?? "" }
            // …, y, m, d, h, m
            guard parts.count >= 5, let y = Int64(parts[parts.count - 5]), let m = Int64(parts[parts.count - 4]),
                  let d = Int64(parts[parts.count - 3]), let h = Int64(parts[parts.count - 2]) else { return nil }
            return Timestamp.make(year: y, month: m, day: d, hour: h)
        }.max()
        let now = azure.now
        #expect(newest.map { now >= $0 + 2 * Timestamp.microsPerHour && now < $0 + Timestamp.microsPerDay } == true)
    }

    @Test func rangeReadsReturnTheFilesBytes() throws {
        let dir = try Self.written.get()
        let azure = try SimAzure(scenario: dir)
        let names = azure.blobNames(container: Self.rr)
        let name = try #require(names.max { (try? FileManager.default.attributesOfItem(atPath: dir + "/diagnostics/" + $0)[.size] as? Int ?? 0) ?? 0
            < (try? FileManager.default.attributesOfItem(atPath: dir + "/diagnostics/" + $1)[.size] as? Int ?? 0) ?? 0 })
        let file = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/diagnostics/" + name)))
        #expect(file.count > 2_000)
        #expect(azure.blobContent(container: Self.rr, name: name) == file)
        let h = try Self.headers(azure)

        // Listing and HEAD give the file's size.
        let list = azure.handle(Sim.request("/simstorage/\(Self.rr)?restype=container&comp=list&prefix=" + Sim.encode(name), headers: h))
        #expect(list.status == 200)
        #expect(Sim.xmlValues(Sim.text(list), "Content-Length") == [String(file.count)])
        let head = azure.handle(Sim.request(Self.path(name), method: "HEAD", headers: h))
        #expect(head.status == 200 && Sim.header(head, "Content-Length") == String(file.count))

        // Whole blob, a middle slice, an open-ended tail, a range past the end.
        let whole = azure.handle(Sim.request(Self.path(name), headers: h))
        #expect(whole.status == 200 && whole.body == file)
        #expect(Sim.header(whole, "Content-Length") == String(file.count))
        let etag = try #require(Sim.header(whole, "ETag"))

        var hr = h
        hr["x-ms-range"] = "bytes=1000-1999"
        hr["if-match"] = etag
        let middle = azure.handle(Sim.request(Self.path(name), headers: hr))
        #expect(middle.status == 206)
        #expect(middle.body == Array(file[1000...1999]))
        #expect(Sim.header(middle, "Content-Length") == "1000")
        #expect(Sim.header(middle, "Content-Range") == "bytes 1000-1999/\(file.count)")

        hr["x-ms-range"] = "bytes=\(file.count - 10)-\(file.count + 5000)"
        let tail = azure.handle(Sim.request(Self.path(name), headers: hr))
        #expect(tail.status == 206 && tail.body == Array(file.suffix(10)))

        hr["x-ms-range"] = "bytes=\(file.count)-"
        #expect(azure.handle(Sim.request(Self.path(name), headers: hr)).status == 416)

        hr["x-ms-range"] = "bytes=0-9"
        hr["if-match"] = "\"0x8DDNOTTHEETAG\""
        #expect(azure.handle(Sim.request(Self.path(name), headers: hr)).status == 412)
    }

    @Test func appendingCopiesIntoMemoryAndLeavesTheFileAlone() throws {
        let dir = try Self.written.get()
        let azure = try SimAzure(scenario: dir)
        let name = try #require(azure.blobNames(container: Self.rr).first)
        let path = dir + "/diagnostics/" + name
        let file = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let before = try #require(azure.blobETag(container: Self.rr, name: name))
        let line = Array("{\"time\":\"2026-09-01T00:59:59.0000000Z\"}\n".utf8)
        let after = azure.appendToBlob(container: Self.rr, name: name, bytes: line)
        #expect(after != before)
        #expect(azure.isFileBacked(container: Self.rr, name: name) == false)
        #expect(azure.blobContent(container: Self.rr, name: name) == file + line)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == file, "the scenario file is never written")

        var h = try Self.headers(azure)
        h["x-ms-range"] = "bytes=\(file.count)-"
        let r = azure.handle(Sim.request(Self.path(name), headers: h))
        #expect(r.status == 206 && r.body == line)
    }

    @Test func indexingForLogAnalyticsIsAnOption() throws {
        let dir = try Self.written.get()
        var options = SimAzureOptions()
        options.indexDiagnosticsForLogAnalytics = true
        let azure = try SimAzure(scenario: dir, options: options)
        #expect(azure.diagnosticRecordCount == 2_000)
        #expect(azure.isFileBacked(container: Self.rr, name: try #require(azure.blobNames(container: Self.rr).first)) == true)
    }

    @Test func aFileRemovedAfterLoadingAnswers500() throws {
        let source = try Self.written.get()
        let dir = TestSupport.makeTempDirectory("sim-bulk-copy").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.removeItem(atPath: dir)
        try FileManager.default.copyItem(atPath: source, toPath: dir)
        let azure = try SimAzure(scenario: dir)
        let name = try #require(azure.blobNames(container: Self.rr).first)
        try FileManager.default.removeItem(atPath: dir + "/diagnostics/" + name)
        let r = azure.handle(Sim.request(Self.path(name), headers: try Self.headers(azure)))
        #expect(r.status == 500)
        #expect(Sim.header(r, "x-ms-error-code") == "InternalError")
    }
}
