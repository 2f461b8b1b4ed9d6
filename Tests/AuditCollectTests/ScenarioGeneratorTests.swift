import AuditCore
import AzureSimulator
import Foundation
import Testing

/// The benchmark data generator: deterministic, exact in its counts, and in the wire shapes of
/// formats.md (§4.2 RequestResponse, §1.2/§3.1 REST events, §2.2 export records).
@Suite struct ScenarioGeneratorTests {
    private static func options(records: Int, days: Int, seed: UInt64 = 1) -> GeneratorOptions {
        var o = GeneratorOptions()
        o.requestRecords = records
        o.days = days
        o.seed = seed
        return o
    }

    @Test func sameSeedWritesIdenticalBytesAndOtherSeedsDiffer() throws {
        let a = try GeneratedTree(Self.options(records: 3000, days: 2))
        let b = try GeneratedTree(Self.options(records: 3000, days: 2))
        let c = try GeneratedTree(Self.options(records: 3000, days: 2, seed: 2))
        defer { a.remove(); b.remove(); c.remove() }
        #expect(a.summary == b.summary)
        #expect(a.files.map(\.path) == b.files.map(\.path))
        #expect(a.files.map(\.bytes) == b.files.map(\.bytes))
        #expect(a.files.map(\.bytes) != c.files.map(\.bytes))
        #expect(a.summary.bytes == a.files.reduce(0) { $0 + Int64($1.bytes.count) })
        #expect(a.summary.files == a.files.count)
    }

    @Test func diagnosticsRecordsHaveTheRequestResponseShape() throws {
        let tree = try GeneratedTree(Self.options(records: 20_000, days: 7))
        defer { tree.remove() }
        let required = [
            "Tenant", "callerIpAddress", "category", "correlationId", "durationMs", "event", "location",
            "operationName", "properties", "resourceId", "resultSignature", "time",
        ]
        var count = 0, asString = 0, failures = 0
        var operations: Set<String> = [], apiNames: Set<String> = [], objectIds: Set<String> = []
        var correlationIds: Set<String> = []
        for file in tree.files where file.path.hasPrefix("diagnostics/") {
            #expect(file.path.hasPrefix("diagnostics/resourceId=/SUBSCRIPTIONS/"))
            #expect(file.path.hasSuffix("/m=00/PT1H.json"))
            for line in file.lines {
                count += 1
                let record = try JSONParser.parse(line)
                let object = try #require(record.objectValue)
                #expect(object.keys == required)
                #expect(record["category"]?.text == "RequestResponse")
                #expect(record["event"]?.text == "ShoeboxCallResult")
                #expect(record["callerIpAddress"]?.text?.hasSuffix(".***") == true)
                let resourceId = try #require(record["resourceId"]?.text)
                #expect(resourceId == resourceId.uppercased())
                #expect(file.path.contains(resourceId + "/y="))
                guard case .string(let status)? = record["resultSignature"] else {
                    Issue.record("resultSignature is not a string")
                    continue
                }
                if status != "200" { failures += 1 }
                if case .string = record["properties"] { asString += 1 }
                let properties = try #require(record["properties"]?.embeddedObject)
                let time = try #require(record["time"]?.text)
                #expect(time.count == 28 && time.hasSuffix("Z"))  // 7 fractional digits
                let timeUs = try #require(Timestamp.parse(time))
                let requestTicks = try #require(properties["requestTime"]?.int64)
                let responseTicks = try #require(properties["responseTime"]?.int64)
                let durationMs = try #require(record["durationMs"]?.int64)
                #expect((responseTicks - requestTicks) / 10_000 == durationMs)
                let lag = timeUs - Timestamp.fromTicks(responseTicks)
                #expect(lag >= 0 && lag <= 3 * Timestamp.microsPerSecond)
                for key in [
                    "apiName", "requestLength", "responseLength", "objectId", "streamType", "modelDeploymentName",
                    "modelName", "modelVersion",
                ] {
                    #expect(properties[key] != nil, "missing properties.\(key)")
                }
                operations.insert(record["operationName"]?.text ?? "")
                apiNames.insert(properties["apiName"]?.text ?? "")
                objectIds.insert(properties["objectId"]?.text ?? "")
                correlationIds.insert(record["correlationId"]?.text ?? "")
            }
        }
        #expect(count == 20_000)
        #expect(tree.summary.requestRecords == 20_000)
        #expect(correlationIds.count == count)
        #expect(operations == ["ChatCompletions_Create", "Embeddings_Create", "Completions_Create"])
        #expect(apiNames.count >= 3)
        #expect(apiNames.allSatisfy { $0.hasPrefix("Azure OpenAI API version ") })
        #expect(objectIds.contains("") && objectIds.count >= 2)  // key callers and Entra callers
        #expect(Double(asString) / Double(count) > 0.25 && Double(asString) / Double(count) < 0.35)
        #expect(failures > 0 && failures < count / 50)
    }

    @Test(arguments: [0, 1, 12_345])
    func writesExactlyTheRequestedNumberOfRecords(records: Int) throws {
        let tree = try GeneratedTree(Self.options(records: records, days: 1))
        defer { tree.remove() }
        let lines = tree.files.filter { $0.path.hasPrefix("diagnostics/") }.reduce(0) { $0 + $1.lines.count }
        #expect(lines == records)
    }

    @Test func restPagesAndExportBlobsHoldTheSameEvents() throws {
        let tree = try GeneratedTree(Self.options(records: 100, days: 12))
        defer { tree.remove() }
        var rest: [JSONValue] = []
        let pages = tree.files.filter { $0.path.hasPrefix("activity/rest-page-") }
        #expect(pages.first?.path == "activity/rest-page-000.json")
        for (i, page) in pages.enumerated() {
            let document = try JSONParser.parse(page.bytes)
            let value = try #require(document["value"]?.arrayValue)
            #expect(value.count <= ScenarioGenerator.restPageSize)
            #expect((document["nextLink"] != nil) == (i + 1 < pages.count))
            rest += value
        }
        var export: [JSONValue] = []
        for file in tree.files where file.path.hasPrefix("activity/resourceId=/SUBSCRIPTIONS/") {
            for line in file.lines { export.append(try JSONParser.parse(line)) }
        }
        #expect(rest.count == 12 * 40 + 2 * 2)  // 40 a day, one incident (Active + Resolved) per subscription
        #expect(rest.count == export.count)
        #expect(rest.count == tree.summary.activityEvents)

        let restTimes = rest.compactMap { $0["eventTimestamp"]?.text.flatMap(Timestamp.parse) }
        #expect(restTimes.count == rest.count)
        #expect(restTimes == restTimes.sorted(by: >))  // newest first
        func key(_ correlation: JSONValue?, _ time: JSONValue?, _ resource: JSONValue?) -> String {
            "\(correlation?.text ?? "")|\(time?.text ?? "")|\((resource?.text ?? "").uppercased())"
        }
        let restKeys = rest.map { key($0["correlationId"], $0["eventTimestamp"], $0["resourceId"]) }.sorted()
        let exportKeys = export.map { key($0["correlationId"], $0["time"], $0["resourceId"]) }.sorted()
        #expect(restKeys == exportKeys)
        #expect(Set(rest.compactMap { $0["eventDataId"]?.text }).count == rest.count)
        #expect(export.allSatisfy { $0["eventDataId"] == nil })
        let resultTypes: Set<String> = ["Start", "Success", "Failure", "Active", "Resolved"]
        #expect(export.allSatisfy { resultTypes.contains($0["resultType"]?.text ?? "") })

        let operations = Set(rest.compactMap { $0["operationName"]?["value"]?.text })
        for op in [
            "Microsoft.CognitiveServices/accounts/regenerateKey/action",
            "Microsoft.CognitiveServices/accounts/listKeys/action",
            "Microsoft.CognitiveServices/accounts/write", "Microsoft.CognitiveServices/accounts/deployments/write",
            "Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete",
            "Microsoft.KeyVault/vaults/secrets/write", "Microsoft.ServiceHealth/incident/action",
        ] {
            #expect(operations.contains(op), "no \(op) event")
        }
        for event in rest where event["operationName"]?["value"]?.text?.hasPrefix("Microsoft.Authorization/") == true {
            // requestbody is a JSON-encoded string, as the REST shape carries nested JSON.
            guard case .string(let body)? = event["properties"]?["requestbody"] else {
                Issue.record("role assignment event without a string requestbody")
                continue
            }
            #expect((try? JSONParser.parse(body))?["Properties"]?["PrincipalId"] != nil)
        }
        for event in rest {
            let time = event["eventTimestamp"]?.text.flatMap(Timestamp.parse) ?? 0
            let submitted = event["submissionTimestamp"]?.text.flatMap(Timestamp.parse) ?? 0
            #expect(submitted > time)
        }
    }

    @Test func invalidOptionsAreRejected() {
        var gzip = GeneratorOptions()
        gzip.gzip = true
        #expect(throws: GeneratorError.self) { try ScenarioGenerator.write(to: "/nonexistent-dir", options: gzip) }
        var days = GeneratorOptions()
        days.days = 0
        #expect(throws: GeneratorError.self) { try days.validate() }
        var rate = GeneratorOptions()
        rate.failureRate = 2
        #expect(throws: GeneratorError.self) { try rate.validate() }
    }
}

/// A generated data set in a fresh temporary directory, with every file read back (sorted by path).
private struct GeneratedTree {
    struct File {
        var path: String
        var bytes: [UInt8]
        var lines: [[UInt8]] { bytes.split(separator: 0x0A).map(Array.init) }
    }

    let root: String
    let summary: GeneratorSummary
    let files: [File]

    init(_ options: GeneratorOptions) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("scenario-\(UUID().uuidString)").path
        summary = try ScenarioGenerator.write(to: root, options: options)
        let paths = (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).sorted()
        var files: [File] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            let full = root + "/" + path
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue else {
                continue
            }
            let data = try Data(contentsOf: URL(fileURLWithPath: full))
            files.append(File(path: path, bytes: [UInt8](data)))
        }
        self.files = files
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}
