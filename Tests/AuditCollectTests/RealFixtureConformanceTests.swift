import AuditCore
import AuditStore
import AuditTestSupport
import Foundation
import Testing

import AuditCollect

/// One real capture imported with the real `Importer` into a fresh database.
struct RealImport {
    let db: Database
    let outcome: FileOutcome

    /// `../shared/fixtures/real/<relative>`, or a variant of it written to a temp folder.
    static func run(_ relative: String, variant: ((String) -> String)? = nil) throws -> RealImport {
        let fixtures = try #require(TestSupport.sharedFixtures)
        var path = fixtures.appendingPathComponent("real/" + relative).path
        let dir = TestSupport.makeTempDirectory("aoai-audit-real")
        if let variant {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            path = try TestSupport.write(variant(text), to: dir, name: "variant-" + URL(fileURLWithPath: relative).lastPathComponent)
        }
        let db = try Database(path: dir.appendingPathComponent("audit.db").path)
        let summary = try Importer(database: db, options: ImportOptions()).run(paths: [path])
        let outcome = try #require(summary.files.first)
        #expect(summary.files.count == 1)
        #expect(outcome.error == nil, "\(relative): \(outcome.error ?? "")")
        let r = RealImport(db: db, outcome: outcome)
        try r.expectNoSecrets()
        return r
    }

    func texts(_ sql: String) throws -> [String?] { try db.connection.rows(sql).map { $0.first?.text } }
    func ints(_ sql: String) throws -> [Int64?] { try db.connection.rows(sql).map { $0.first?.integer } }
    func count(_ table: String) throws -> Int64 { try db.connection.scalar("SELECT count(*) FROM \(table)")?.integer ?? -1 }

    var quarantineReasons: [String] { get throws { try texts("SELECT reason FROM quarantine ORDER BY line, id").compactMap { $0 } } }

    /// No JWT-looking value (`eyJ…` of 16+ characters) survives in any stored text.
    func expectNoSecrets() throws {
        let jwt = try Regex("eyJ[A-Za-z0-9_-]{13,}")
        let columns = [("activity_events", "raw"), ("activity_events", "caller"), ("changes", "summary"), ("changes", "detail"),
                       ("changes", "actor"), ("quarantine", "excerpt"), ("quarantine", "reason"), ("request_failures", "extra"),
                       ("vendor_incidents", "body"), ("vendor_incidents", "title")]
        for (table, column) in columns {
            for text in try texts("SELECT \(column) FROM \(table)").compactMap({ $0 }) {
                #expect(!text.contains(jwt), "a JWT survived in \(table).\(column): \(text.prefix(120))")
            }
        }
    }
}

private func us(_ iso: String) -> Int64? { Timestamp.parse(iso) }

@Suite(.enabled(if: TestSupport.hasSharedFixtures, "../shared/fixtures is absent"))
struct RealFixtureConformanceTests {
    // MARK: - Activity Log, exported

    @Test func beatsEventHubListKeysStartAndFailure() throws {
        let r = try RealImport.run("elastic-beats/activity_log.json")
        #expect(r.outcome.format == "json")
        #expect(r.outcome.read == 2)
        #expect(r.outcome.counts.activity == 2)
        #expect(r.outcome.counts.quarantined == 0)
        #expect(try r.count("changes") == 0)  // the listKeys failed
        #expect(try r.texts("SELECT status FROM activity_events ORDER BY time_us") == ["Started", "Failed"])
        #expect(try r.texts("SELECT level FROM activity_events ORDER BY time_us") == ["Informational", "Error"])
        #expect(try r.ints("SELECT http_status FROM activity_events ORDER BY time_us") == [nil, 404])  // statusCode "NotFound"
        #expect(try r.texts("SELECT DISTINCT category FROM activity_events") == ["Administrative"])  // legacy "Action"
        #expect(try r.texts("SELECT DISTINCT resource_id FROM activity_events") == [
            "/subscriptions/2a7e2503-d7e2-405a-a84c-c333b9f7cb73/resourcegroups/sa-hemant/providers/microsoft.eventhub/namespaces/azurelsevents/authorizationrules/rootmanagesharedaccesskey",
        ])
        #expect(try r.texts("SELECT DISTINCT principal_type || '/' || role FROM activity_events") == ["ServicePrincipal/Azure EventGrid Service BuiltIn Role"])
        #expect(try r.ints("SELECT time_us FROM activity_events ORDER BY time_us") == [us("2019-10-04T10:38:37.5151977Z"), us("2019-10-04T10:38:37.5251981Z")])
    }

    @Test func beatsSupportTicketDocsSampleWithLegacyCategory() throws {
        let r = try RealImport.run("elastic-beats/supporttickets_write.log")
        #expect(r.outcome.counts.activity == 1)
        let row = try #require(try r.db.connection.rows("SELECT category, status, http_status, caller, resource_id FROM activity_events").first)
        #expect(row.map(\.text) == ["Administrative", "Succeeded", "201", "admin@contoso.com",
                                    "/subscriptions/s1/resourcegroups/mssupportgroup/providers/microsoft.support/supporttickets/115012112305841"])
    }

    @Test func otelAdministrativeStartedWriteDerivesNothing() throws {
        let r = try RealImport.run("opentelemetry-collector-contrib/administrative/valid_1.json")
        #expect(r.outcome.read == 1)
        #expect(r.outcome.counts.activity == 1)
        #expect(try r.count("changes") == 0)  // Started
        let row = try #require(try r.db.connection.rows("SELECT status, operation, resource_id, tenant_id, caller, principal_id, role FROM activity_events").first)
        #expect(row.map(\.text) == ["Started", "MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/WRITE",
                                    "/subscriptions/11111111-1111-1111-1111-111111111111/providers/microsoft.insights/diagnosticsettings/example-collect-sample-logs",
                                    "22222222-2222-2222-2222-222222222222", "user@example.com", "55555555555555555555555555555555", "Owner"])
    }

    @Test func otelServiceHealthMaintenanceIsOneIncident() throws {
        let r = try RealImport.run("opentelemetry-collector-contrib/servicehealth/valid_1.json")
        #expect(r.outcome.counts.activity == 1)
        #expect(r.outcome.counts.incidents == 1)
        // "Level": 5 next to "level": "Informational": the lower-case member is the level.
        #expect(try r.texts("SELECT category || '/' || status || '/' || level FROM activity_events") == ["ServiceHealth/Resolved/Informational"])
        let i = try #require(try r.db.connection.rows("SELECT incident_key, provider, status, impact, service, region, title, start_us, resolved_us, body FROM vendor_incidents").first)
        #expect(i[0].text == "azure-servicehealth:1_6N-3XG")
        #expect(i[1].text == "azure-servicehealth")
        #expect(i[2].text == "Complete")
        #expect(i[3].text == "Maintenance")
        #expect(i[4].text == "App Service")
        #expect(i[5].text == "East US 2")
        #expect(i[6].text == "End of Routine Planned Maintenance for App Service in East US 2")
        #expect(i[7].integer == us("2025-04-22T18:04:08.4705934Z"))
        // impactMitigationTime is the planned end of the window, later than the update itself.
        #expect(i[8].integer == us("2025-05-06T18:04:08.4705934Z"))
        #expect(i[9].text?.hasPrefix("This notification is for previously scheduled maintenance") == true)
    }

    @Test func integrationsRawListKeysStartedAndResourceHealthBodyAsStringOrObject() throws {
        let r = try RealImport.run("elastic-integrations/test-activitylogs-raw.log")
        #expect(r.outcome.read == 3)
        #expect(r.outcome.counts.activity == 2)
        #expect(r.outcome.counts.duplicates == 1)  // lines 2 and 3 are one event (body as string vs object)
        #expect(r.outcome.counts.quarantined == 0)
        #expect(try r.count("changes") == 0)
        #expect(try r.texts("SELECT category || '/' || status FROM activity_events ORDER BY time_us") == ["Administrative/Started", "ResourceHealth/Updated"])
        #expect(try r.ints("SELECT time_us FROM activity_events WHERE category = 'ResourceHealth'") == [us("2025-10-17T11:50:07.220Z")])
    }

    @Test func integrationsDurationAsStringLoadsLikeTheNumber() throws {
        let r = try RealImport.run("elastic-integrations/test-azure-activitylogs-duration-as-string-sample.log")
        #expect(r.outcome.read == 3)
        #expect(r.outcome.counts.activity == 2)
        #expect(r.outcome.counts.duplicates == 1)
        #expect(r.outcome.counts.quarantined == 0)
        #expect(try r.texts("SELECT status FROM activity_events ORDER BY time_us") == ["Started", "Updated"])
    }

    @Test func integrationsEdgeCasesQuarantineSignInRecords() throws {
        let r = try RealImport.run("elastic-integrations/test-activitylogs-edgecases.log")
        #expect(r.outcome.read == 3)
        #expect(r.outcome.counts.activity == 1)  // line 1: the minimal ResourceHealth record
        #expect(r.outcome.counts.quarantined == 2)
        #expect(try r.texts("SELECT category FROM activity_events") == ["ResourceHealth"])
        #expect(try r.ints("SELECT line FROM quarantine ORDER BY line") == [2, 3])
        let reasons = try r.quarantineReasons
        #expect(reasons.count == 2)
        #expect(reasons.allSatisfy { $0.hasPrefix("unrecognized record shape (category 'NonInteractiveUserSignInLogs'") })
    }

    @Test func integrationsSplicedSignInEnvelopeIsQuarantined() throws {
        let r = try RealImport.run("elastic-integrations/test-acitivitylogs-responsebody.log")
        #expect(r.outcome.counts.activity == 0)
        #expect(try r.quarantineReasons.map { $0.hasPrefix("unrecognized record shape (category 'NonInteractiveUserSignInLogs'") } == [true])
    }

    @Test func integrationsMixedCaseResourceIdsAreCanonical() throws {
        let r = try RealImport.run("elastic-integrations/test-activitylogs-mixedcase-resourceid.log")
        #expect(r.outcome.counts.activity == 2)
        let rows = try r.db.connection.rows("SELECT resource_id, subscription_id, resource_group, resource_name, tenant_id, status, sub_status FROM activity_events ORDER BY time_us")
        #expect(rows.map { $0.map(\.text) } == [
            ["/subscriptions/12345678-1234-1234-1234-123456789abc/resourcegroups/my-resource-group/providers/microsoft.web/sites/my-app-service",
             "12345678-1234-1234-1234-123456789abc", "my-resource-group", "my-app-service", "ffffffff-aaaa-bbbb-cccc-dddddddddddd", "Succeeded", "Started"],
            ["/tenants/ffffffff-aaaa-bbbb-cccc-dddddddddddd/providers/microsoft.aadiam", nil, nil, nil, nil, "Succeeded", "Started"],
        ])
    }

    // MARK: - Azure OpenAI diagnostics

    @Test func openAIRequestResponseThreeDistinctRequests() throws {
        let r = try RealImport.run("elastic-integrations/test-open-ai-request-response.log")
        #expect(r.outcome.read == 3)
        #expect(r.outcome.counts.requests == 3)  // lines 2 and 3 share a correlationId but are two requests
        #expect(r.outcome.counts.duplicates == 0)
        #expect(r.outcome.counts.quarantined == 0)
        #expect(try r.count("request_failures") == 0)  // all 200
        #expect(try r.count("request_seen") == 3)
        let rollup = try r.db.connection.rows("SELECT operation, deployment, api_version, caller, status, count, duration_ms_sum FROM request_rollup_v ORDER BY minute_us, deployment")
        #expect(rollup.map { $0.map(\.text) } == [
            ["Create_Thread", "", "2024-02-15-preview", "81.2.69.***", "200", "1", "102"],
            ["ChatCompletions_Create", "dall-e-3", "2023-07-01-preview", "81.2.69.***", "200", "1", "0"],  // durationMs -1021 not summed
            ["ChatCompletions_Create", "gpt-chat-pilot", "2023-07-01-preview", "81.2.69.***", "200", "1", "1021"],
        ])
        #expect(try r.ints("SELECT DISTINCT minute_us FROM request_rollup ORDER BY 1") == [us("2024-04-08T12:23:00Z"), us("2024-05-24T12:23:00Z")])
        #expect(try r.texts("SELECT kind FROM changes") == ["api_version_change"])
    }

    @Test func openAIAuditListKeyIsAKeyListing() throws {
        let r = try RealImport.run("elastic-integrations/test-open-ai-audit.log")
        #expect(r.outcome.counts.changes == 1)
        let row = try #require(try r.db.connection.rows("SELECT kind, resource_id, actor, principal_id, time_us, source_kind FROM changes").first)
        #expect(row.map(\.text) == ["key_listed",
                                    "/subscriptions/12cabcb4-86e8-404f-a3d2-1dc9982f45ca/resourcegroups/obs-openai-service-rs/providers/microsoft.cognitiveservices/accounts/obs-openai-test-01",
                                    "b610ab05-ce06-4cc1-a6dd-174b9f80468a", "b610ab05-ce06-4cc1-a6dd-174b9f80468a", us("2024-04-17T06:03:30Z").map(String.init), "diagnostics"])
    }

    @Test func apimGatewayLogsAreReportedNotGuessed() throws {
        let r = try RealImport.run("elastic-integrations/test-open-ai-gateway.log")
        #expect(r.outcome.read == 2)
        #expect(r.outcome.counts.requests == 0)
        #expect(try r.quarantineReasons.map { $0.hasPrefix("unrecognized record shape (category 'GatewayLogs'") } == [true, true])
    }

    // MARK: - Other resource logs and corner cases

    @Test func platformLogWithoutTimeIsQuarantinedWithAReason() throws {
        let r = try RealImport.run("elastic-integrations/test-platformlogs-raw.log")
        #expect(r.outcome.read == 1)
        #expect(r.outcome.counts.quarantined == 1)
        #expect(try r.count("activity_events") == 0)
        #expect(try r.quarantineReasons.map { $0.hasPrefix("unrecognized record shape (category 'OperationalLogs'; keys: ActivityId, Caller,") } == [true])
    }

    @Test func timeFormatCornerCasesAreQuarantinedAndTheirTimesParse() throws {
        let r = try RealImport.run("elastic-integrations/test-time-formats-corner-cases.log")
        // Two fields each (time, category) and no operationName: not an Activity Log record.
        #expect(r.outcome.read == 11)
        #expect(r.outcome.counts.quarantined == 11)
        #expect(try r.quarantineReasons == Array(repeating: "unrecognized record shape (category 'Administrative'; keys: time, category)", count: 11))
        // Every form still denotes 2007-01-09 09:41:00 UTC (to the second).
        let path = try #require(TestSupport.sharedFixtures).appendingPathComponent("real/elastic-integrations/test-time-formats-corner-cases.log").path
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        let seconds = try lines.map { line -> Int64? in
            let t = try #require(try JSONParser.parse(String(line))["time"]?.text)
            return Timestamp.parse(t).map { $0 / 1_000_000 }
        }
        #expect(seconds == Array(repeating: us("2007-01-09T09:41:00Z").map { $0 / 1_000_000 }, count: 11))
    }

    @Test func logAnalyticsRoleAssignmentWriteStartedAndSucceeded() throws {
        let r = try RealImport.run("wazuh/log_analytics_events")
        #expect(r.outcome.read == 2)  // the rows, not the wrapper
        #expect(r.outcome.counts.activity == 2)
        #expect(r.outcome.counts.changes == 1)
        let rows = try r.db.connection.rows("SELECT status, http_status, shape, level, caller, event_data_id, resource_id FROM activity_events ORDER BY time_us")
        let assignment = "/subscriptions/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx/providers/microsoft.authorization/roleassignments/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
        #expect(rows.map { $0.map(\.text) } == [
            ["Started", nil, "log-analytics", "Informational", "wazuh.user@wazuh.com", nil, assignment],
            ["Succeeded", "201", "log-analytics", "Informational", "wazuh.user@wazuh.com", nil, assignment],  // placeholder eventDataId dropped
        ])
        let c = try #require(try r.db.connection.rows("SELECT kind, resource_id, actor, time_us FROM changes").first)
        #expect(c.map(\.text) == ["role_assignment_created", "/subscriptions/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", "wazuh.user@wazuh.com",
                                  us("2022-06-03T14:05:13.004Z").map(String.init)])
    }

    // MARK: - Documents that are not wire shapes

    @Test(arguments: [
        ("azure-rest-api-specs/GetActivityLogsFiltered.json", "unrecognized record shape (no category; keys: parameters, responses)"),
        ("azure-rest-api-specs/oms-post-example.json", "unrecognized record shape (no category; keys: title, description, parameters, responses)"),
        ("azure-rest-api-specs/RegenerateKey.json", "unrecognized record shape (no category; keys: parameters, responses)"),
        ("azure-sdk-for-python/test_logs_client.pyTestLogsClienttest_logs_single_query_with_partial_success.json", "unrecognized record shape (no category; keys: Entries, Variables)"),
    ])
    func specExamplesAndRecordingsAreReportedAsOneUnrecognizedDocument(file: String, reason: String) throws {
        // A spec example wraps the wire body in {"parameters":…,"responses":{"200":{"body":…}}};
        // the importer does not unwrap it: the whole document is one quarantined record.
        let r = try RealImport.run(file)
        #expect(r.outcome.format == "json")
        #expect(r.outcome.read == 1)
        #expect(r.outcome.counts.quarantined == 1)
        #expect(r.outcome.counts.loaded == 0)
        #expect(try r.quarantineReasons == [reason])
        #expect(try r.texts("SELECT excerpt FROM quarantine").first??.hasPrefix("{\"") == true)
    }

    // MARK: - Whole folder, secrets

    @Test func theWholeFolderImportsOnceAndReimportsAsUnchanged() throws {
        let real = try #require(TestSupport.sharedFixtures).appendingPathComponent("real").path
        let dir = TestSupport.makeTempDirectory("aoai-audit-real-all")
        let db = try Database(path: dir.appendingPathComponent("audit.db").path)
        let first = try Importer(database: db, options: ImportOptions()).run(paths: [real])
        #expect(first.files.count == 28)
        #expect(first.failedFiles.map { URL(fileURLWithPath: $0.path).lastPathComponent } == ["README.md"])
        #expect(first.failedFiles.first?.error?.contains("unrecognized file") == true)
        let c = try db.counts()
        // 16 Activity records, 4 of them repeats (test-activitylogs-raw.log line 3 and all three lines
        // of the duration-as-string sample, derived from it); 1 ServiceHealth + 7 Statuspage + 25 Atom + 17 RSS incidents; 3 requests;
        // key_listed, role_assignment_created, api_version_change; every unrecognized record of 14 files.
        #expect(c.activity == 12)
        #expect(c.vendorIncidents == 50)
        #expect(c.requests == 3)
        #expect(c.changes == 3)
        #expect(c.quarantined == 26)
        #expect(first.totals.duplicates == 4)
        try RealImport(db: db, outcome: first.files[0]).expectNoSecrets()

        let second = try Importer(database: db, options: ImportOptions()).run(paths: [real])
        #expect(second.unchangedFiles == 27)
        #expect(second.totals.loaded == 0)
        #expect(try db.counts() == c)
    }

    @Test func plantedTokensAreRedactedInStoredRecordsAndQuarantineExcerpts() throws {
        // Fake JWT (header {"alg":"none"}), planted in copies of two real files.
        let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhb2FpLWF1ZGl0In0.c2lnbmF0dXJlLXRlc3Q"
        let loaded = try RealImport.run("opentelemetry-collector-contrib/administrative/valid_1.json") {
            $0.replacingOccurrences(of: #""ver": "1.0","#, with: #""ver": "1.0", "xms_assertion": "\#(token)","#)
        }
        #expect(loaded.outcome.counts.activity == 1)
        let raw = try #require(try loaded.texts("SELECT raw FROM activity_events").first ?? nil)
        #expect(raw.contains("[REDACTED]"))
        #expect(!raw.contains("eyJhbGci"))

        let quarantined = try RealImport.run("elastic-integrations/test-activitylogs-edgecases.log") {
            $0.replacingOccurrences(of: #"{"Level":4,"#, with: #"{"token":"Bearer \#(token)","Level":4,"#)
        }
        #expect(quarantined.outcome.counts.quarantined == 2)
        let excerpts = try quarantined.texts("SELECT excerpt FROM quarantine").compactMap { $0 }
        #expect(excerpts.count == 2)
        #expect(excerpts.allSatisfy { $0.contains("[REDACTED]") && !$0.contains("eyJhbGci") })
    }
}
