import AuditCore
import AzureSimulator
import Foundation
import Testing

/// The Activity Log list API over the shared planted scenario.
@Suite(.enabled(if: SimScenario.gitPath != nil, "needs git on PATH (PlantedScenario writes repositories)"))
struct SimAzureActivityTests {
    static func path(_ sub: String, filter: String) -> String {
        "/subscriptions/\(sub)/providers/microsoft.insights/eventtypes/management/values?api-version=2015-04-01&$filter=" + Sim.encode(filter)
    }

    /// Follows `nextLink` to the end; returns the events and the number of pages.
    static func all(_ azure: SimAzure, _ url: String, headers: [String: String]) throws -> (events: [JSONValue], pages: Int) {
        var next: String? = url
        var events: [JSONValue] = []
        var pages = 0
        while let u = next {
            let r = azure.handle(Sim.request(u, headers: headers))
            try #require(r.status == 200, "\(Sim.text(r))")
            let body = try Sim.json(r)
            events += body["value"]?.arrayValue ?? []
            next = body["nextLink"]?.text
            if let n = next { #expect(n.hasPrefix("http://\(Sim.host)/subscriptions/") && n.contains("$skipToken=")) }
            pages += 1
            try #require(pages < 1000)
        }
        return (events, pages)
    }

    @Test func pagingCoversEveryEventOnceNewestFirstWithinTheWindow() throws {
        let azure = try SimScenario.make { $0.pageSize = 7 }
        let headers = try Sim.bearer(azure, scope: Sim.armScope)
        let expected = try SimScenario.restEvents()
        let subs = Set(expected.compactMap { $0["subscriptionId"]?.text })
        #expect(subs.count == 2)
        let truth = try SimScenario.truth()
        let start = try #require(truth["start"]?.text.flatMap(Timestamp.parse)), end = try #require(truth["end"]?.text.flatMap(Timestamp.parse))
        for sub in subs.sorted() {
            let mine = expected.filter { $0["subscriptionId"]?.text == sub }
            #expect(azure.activityEventCount(subscription: sub) == mine.count)
            // The whole window: every event of the subscription exactly once.
            let filter = "eventTimestamp ge '\(Timestamp.iso(start - 86_400_000_000))' and eventTimestamp le '\(Timestamp.iso(end + 86_400_000_000))'"
            let (events, pages) = try Self.all(azure, Self.path(sub, filter: filter), headers: headers)
            let ids = events.compactMap { $0["eventDataId"]?.text }
            #expect(ids.count == mine.count && Set(ids).count == ids.count)
            #expect(Set(ids) == Set(mine.compactMap { $0["eventDataId"]?.text }))
            #expect(pages == (mine.count + 6) / 7)
            let times = events.compactMap { $0["eventTimestamp"]?.text.flatMap(Timestamp.parse) }
            #expect(times == times.sorted(by: >), "newest first")

            // An inner window: exactly the events inside it, bounds included.
            let a = start + 3_600_000_000, b = start + 2 * 3_600_000_000
            let inner = try Self.all(
                azure, Self.path(sub, filter: "eventTimestamp ge '\(Timestamp.iso(a))' and eventTimestamp le '\(Timestamp.iso(b))'"),
                headers: headers)
            let want = mine.filter { e in
                let t = e["eventTimestamp"]?.text.flatMap(Timestamp.parse) ?? 0
                return t >= a && t <= b
            }
            #expect(Set(inner.events.compactMap { $0["eventDataId"]?.text }) == Set(want.compactMap { $0["eventDataId"]?.text }))
            #expect(inner.events.count == want.count)
        }
    }

    @Test func quotedUnquotedZonelessAndDateOnlyFiltersAgree() throws {
        let azure = try SimScenario.make()
        let headers = try Sim.bearer(azure, scope: Sim.armScope)
        let sub = try #require(try SimScenario.restEvents().first?["subscriptionId"]?.text)
        let truth = try SimScenario.truth()
        let start = try #require(truth["start"]?.text.flatMap(Timestamp.parse))
        let day = String(Timestamp.iso(start).prefix(10))
        let next = String(Timestamp.iso(start + 86_400_000_000).prefix(10))
        let forms = [
            "eventTimestamp ge '\(day)T00:00:00.0000000Z' and eventTimestamp le '\(next)T00:00:00Z'",
            "eventTimestamp ge \(day)T00:00:00.000000 and eventTimestamp le \(next)T00:00:00",  // az: isoformat(), no Z, unquoted
            "eventTimestamp ge \(day) and eventTimestamp le \(next)",
            "eventTimestamp ge '\(day)' and eventTimestamp lt '\(next)' and eventChannels eq 'Admin, Operation' and levels eq 'Critical,Error,Warning,Informational'",
        ]
        var counts: [Int] = []
        for f in forms { counts.append(try Self.all(azure, Self.path(sub, filter: f), headers: headers).events.count) }
        #expect(counts[0] > 0 && Set(counts).count == 1, "\(counts)")

        // An extra clause narrows: one correlation id.
        let events = try SimScenario.restEvents().filter { $0["subscriptionId"]?.text == sub }
        let correlation = try #require(events.first?["correlationId"]?.text)
        let narrowed = try Self.all(azure, Self.path(sub, filter: forms[0] + " and correlationId eq '\(correlation)'"), headers: headers)
        #expect(narrowed.events.count == events.filter { $0["correlationId"]?.text == correlation }.count)
        // A request without `le` runs to now.
        let open = try Self.all(azure, Self.path(sub, filter: "eventTimestamp ge '\(day)'"), headers: headers)
        #expect(open.events.count == counts[0])
    }

    @Test func badFiltersAndStartsOlderThan90DaysGet400() throws {
        let azure = try SimScenario.make()
        let headers = try Sim.bearer(azure, scope: Sim.armScope)
        let sub = try #require(try SimScenario.restEvents().first?["subscriptionId"]?.text)
        let old = Timestamp.iso(azure.now - 91 * 86_400_000_000)
        for filter in ["eventTimestamp ge '\(old)'", "resourceGroupName eq 'x'", "eventTimestamp ge 'yesterday'", "eventTimestamp ge"] {
            let r = azure.handle(Sim.request(Self.path(sub, filter: filter), headers: headers))
            #expect(r.status == 400, "\(filter)")
            #expect(try Sim.json(r)["error"]?["code"]?.text == "BadRequest")
        }
        let noFilter = azure.handle(
            Sim.request("/subscriptions/\(sub)/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01", headers: headers))
        #expect(noFilter.status == 400)
        let recent = Timestamp.iso(azure.now - 89 * 86_400_000_000)
        #expect(azure.handle(Sim.request(Self.path(sub, filter: "eventTimestamp ge '\(recent)'"), headers: headers)).status == 200)
    }

    @Test func forbiddenSubscriptionGetsAuthorizationFailed() throws {
        let subs = Array(Set(try SimScenario.restEvents().compactMap { $0["subscriptionId"]?.text })).sorted()
        let azure = try SimScenario.make { $0.activityForbidden = [subs[0]] }
        let headers = try Sim.bearer(azure, scope: Sim.armScope)
        let filter = "eventTimestamp ge '\(Timestamp.iso(azure.now - 86_400_000_000))'"
        let denied = azure.handle(Sim.request(Self.path(subs[0], filter: filter), headers: headers))
        #expect(denied.status == 403)
        let oid = azure.options.clientObjectID
        #expect(
            Sim.text(denied)
                == #"{"error":{"code":"AuthorizationFailed","message":"The client '\#(oid)' with object id '\#(oid)' does not have authorization to perform action 'Microsoft.Insights/eventtypes/values/read' over scope '/subscriptions/\#(subs[0])' or the scope is invalid. If access was recently granted, please refresh your credentials."}}"#
        )
        #expect(azure.handle(Sim.request(Self.path(subs[1], filter: filter), headers: headers)).status == 200)
    }

    @Test func throttleEveryAnswers429WithRetryAfter() throws {
        let azure = try SimScenario.make {
            $0.throttleEvery = 3
            $0.retryAfterSeconds = "2"
        }
        let headers = try Sim.bearer(azure, scope: Sim.armScope)
        let sub = try #require(try SimScenario.restEvents().first?["subscriptionId"]?.text)
        let url = Self.path(sub, filter: "eventTimestamp ge '\(Timestamp.iso(azure.now - 86_400_000_000))'")
        let statuses = (0..<6).map { _ in azure.handle(Sim.request(url, headers: headers)) }
        #expect(statuses.map(\.status) == [200, 200, 429, 200, 200, 429])
        let throttled = statuses[2]
        #expect(Sim.header(throttled, "Retry-After") == "2")
        #expect(Sim.header(throttled, "x-ms-ratelimit-remaining-subscription-reads") == "0")
        #expect(try Sim.json(throttled)["error"]?["code"]?.text == "SubscriptionRequestsThrottled")
        #expect(
            try Sim.json(throttled)["error"]?["message"]?.text
                == "Number of 'read' requests for subscription '\(sub)' actor '\(azure.options.clientObjectID)' exceeded. Please try again after '2' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information."
        )
        #expect(azure.requestCount(.activityLog) == 6 && azure.requestLog().last?.hasPrefix("GET /subscriptions/") == true)
        #expect(azure.requestLog().allSatisfy { !$0.contains("?") && !$0.contains("Bearer") })
    }

    @Test func addedEventsShowUpInLaterPages() throws {
        let azure = try SimScenario.make()
        let headers = try Sim.bearer(azure, scope: Sim.armScope)
        let sub = "11111111-2222-3333-4444-555555555555"
        let t = Timestamp.iso(azure.now - 60_000_000)
        let event = #"{"eventDataId":"e-added-1","subscriptionId":"\#(sub)","eventTimestamp":"\#(t)","correlationId":"c-1","resourceGroupName":"rg-x","resourceId":"/subscriptions/\#(sub)/resourceGroups/rg-x","operationName":{"value":"Microsoft.Authorization/roleAssignments/delete"},"status":{"value":"Succeeded"}}"#
        #expect(try azure.addActivityEvents([event]) == 1)
        #expect(azure.activityEventCount(subscription: sub) == 1)
        let got = try Self.all(azure, Self.path(sub, filter: "eventTimestamp ge '\(Timestamp.iso(azure.now - 3_600_000_000))' and resourceGroupName eq 'RG-X'"), headers: headers)
        #expect(got.events.compactMap { $0["eventDataId"]?.text } == ["e-added-1"])
        #expect(throws: SimAzureError.self) { try azure.addActivityEvents(["{\"no\":1}"]) }
    }
}
