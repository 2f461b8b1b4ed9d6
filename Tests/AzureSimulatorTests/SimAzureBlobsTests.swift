import AuditCore
import AzureSimulator
import Foundation
import Testing

/// The Blob service over the shared planted scenario's exports.
@Suite(.enabled(if: SimScenario.gitPath != nil, "needs git on PATH (PlantedScenario writes repositories)"))
struct SimAzureBlobsTests {
    static let rr = "insights-logs-requestresponse"
    static let storageAccount = "devstoreaccount1"

    static func blobHeaders(_ azure: SimAzure, _ extra: [String: String] = [:]) throws -> [String: String] {
        var h = try Sim.bearer(azure, scope: Sim.storageScope)
        h["x-ms-version"] = "2023-11-03"
        for (k, v) in extra { h[k] = v }
        return h
    }

    static func blobPath(_ name: String, container: String = rr) -> String {
        "/\(storageAccount)/\(container)/" + name.split(separator: "/", omittingEmptySubsequences: false).map { Sim.encode(String($0)) }
            .joined(separator: "/")
    }

    @Test func exportBlobsUseTheAzureMonitorLayout() throws {
        let azure = try SimScenario.make()
        let names = azure.blobNames(container: Self.rr)
        let records = try SimScenario.diagnosticRecords()
        #expect(!names.isEmpty)
        for name in names {
            #expect(name.hasPrefix("resourceId=/SUBSCRIPTIONS/") && name.contains("/PROVIDERS/MICROSOFT.COGNITIVESERVICES/ACCOUNTS/"))
            #expect(name.range(of: #"/y=\d{4}/m=\d{2}/d=\d{2}/h=\d{2}/m=00/PT1H\.json$"#, options: .regularExpression) != nil, "\(name)")
        }
        // Decompressed content: every record once across the blobs.
        let lines = names.reduce(0) { total, name in
            total + (azure.blobContent(container: Self.rr, name: name) ?? []).split(separator: 0x0A).count
        }
        #expect(lines == records.count)
        let activity = azure.blobNames(container: "insights-activity-logs")
        #expect(!activity.isEmpty && activity.allSatisfy { $0.hasPrefix("resourceId=/SUBSCRIPTIONS/") && $0.hasSuffix("/m=00/PT1H.json") })
        #expect(Set(activity.map { $0.split(separator: "/")[2] }).count == 2, "split per subscription")
    }

    @Test func listBlobsPagesWithMarkerAndPrefix() throws {
        let azure = try SimScenario.make()
        let headers = try Self.blobHeaders(azure)
        let all = azure.blobNames(container: Self.rr)
        var marker: String?
        var seen: [String] = []
        var pages = 0
        repeat {
            var url = "/\(Self.storageAccount)/\(Self.rr)?restype=container&comp=list&maxresults=2"
            if let marker { url += "&marker=" + Sim.encode(marker) }
            let r = azure.handle(Sim.request(url, headers: headers))
            try #require(r.status == 200, "\(Sim.text(r))")
            #expect(Array(r.body.prefix(3)) == [0xEF, 0xBB, 0xBF])
            #expect(Sim.header(r, "Content-Type") == "application/xml")
            let xml = Sim.text(r)
            let names = Sim.xmlValues(xml, "Name")
            #expect(names.count <= 2)
            seen += names
            #expect(xml.contains("<BlobType>AppendBlob</BlobType>") && xml.contains("<Content-Length>"))
            #expect(Sim.xmlValues(xml, "Etag").allSatisfy { $0.hasPrefix("0x") && !$0.contains("\"") })
            let next = Sim.xmlValues(xml, "NextMarker").first
            marker = (next?.isEmpty ?? true) ? nil : next
            if marker == nil { #expect(xml.contains("<NextMarker />")) }
            pages += 1
            try #require(pages < 500)
        } while marker != nil
        #expect(seen == all && pages == (all.count + 1) / 2)

        // A prefix narrows to one account's hours, in byte order.
        let account = String(all[0].prefix(upTo: all[0].range(of: "/y=")!.upperBound))
        let r = azure.handle(Sim.request("/\(Self.storageAccount)/\(Self.rr)?restype=container&comp=list&prefix=" + Sim.encode(account), headers: headers))
        let names = Sim.xmlValues(Sim.text(r), "Name")
        #expect(names == all.filter { $0.hasPrefix(account) } && !names.isEmpty)
        #expect(Sim.xmlValues(Sim.text(r), "Prefix") == [account])
        // A delimiter lists hours as prefixes.
        let d = azure.handle(
            Sim.request("/\(Self.storageAccount)/\(Self.rr)?restype=container&comp=list&delimiter=%2F&prefix=" + Sim.encode(String(account.dropLast(2))), headers: headers))
        #expect(Sim.text(d).contains("<BlobPrefix><Name>"))
        // No such container.
        let missing = azure.handle(Sim.request("/\(Self.storageAccount)/nope?restype=container&comp=list", headers: headers))
        #expect(missing.status == 404 && Sim.header(missing, "x-ms-error-code") == "ContainerNotFound")
    }

    @Test func rangeReadsAnswer206AndAStartAtTheEndAnswers416() throws {
        let azure = try SimScenario.make()
        let headers = try Self.blobHeaders(azure)
        let name = try #require(azure.blobNames(container: Self.rr).first)
        let content = try #require(azure.blobContent(container: Self.rr, name: name))
        let full = azure.handle(Sim.request(Self.blobPath(name), headers: headers))
        #expect(full.status == 200 && full.body == content)
        #expect(Sim.header(full, "x-ms-blob-type") == "AppendBlob" && Sim.header(full, "ETag")?.hasPrefix("\"0x") == true)
        #expect(Sim.header(full, "Content-Length") == String(content.count))

        var h = headers
        h["x-ms-range"] = "bytes=10-"
        let partial = azure.handle(Sim.request(Self.blobPath(name), headers: h))
        #expect(partial.status == 206 && partial.body == Array(content[10...]))
        #expect(Sim.header(partial, "Content-Range") == "bytes 10-\(content.count - 1)/\(content.count)")
        #expect(Sim.header(partial, "x-ms-blob-committed-block-count") != nil)

        h["x-ms-range"] = nil
        h["range"] = "bytes=0-4"
        let head5 = azure.handle(Sim.request(Self.blobPath(name), headers: h))
        #expect(head5.status == 206 && head5.body == Array(content[0...4]))

        h["range"] = nil
        h["x-ms-range"] = "bytes=\(content.count)-"
        let past = azure.handle(Sim.request(Self.blobPath(name), headers: h))
        #expect(past.status == 416)
        #expect(Sim.header(past, "Content-Range") == "bytes */\(content.count)")
        #expect(Sim.header(past, "x-ms-error-code") == "InvalidRange")
        #expect(Sim.xmlValues(Sim.text(past), "Code") == ["InvalidRange"])
        #expect(Sim.text(past).contains("<Message>The range specified is invalid for the current size of the resource.\nRequestId:"))

        let head = azure.handle(Sim.request(Self.blobPath(name), method: "HEAD", headers: headers))
        #expect(head.status == 200 && head.body.isEmpty && Sim.header(head, "Content-Length") == String(content.count))
        let nothing = azure.handle(Sim.request(Self.blobPath(name + ".missing"), headers: headers))
        #expect(nothing.status == 404 && Sim.header(nothing, "x-ms-error-code") == "BlobNotFound")
    }

    @Test func appendedBytesAreReadFromTheOldLengthWithANewETag() throws {
        let azure = try SimScenario.make()
        let headers = try Self.blobHeaders(azure)
        let name = try #require(azure.blobNames(container: Self.rr).last)
        let before = try #require(azure.blobContent(container: Self.rr, name: name))
        let oldTag = try #require(Sim.header(azure.handle(Sim.request(Self.blobPath(name), method: "HEAD", headers: headers)), "ETag"))
        let extra = Array(#"{"time":"2026-09-14T02:59:59.0000000Z","resourceId":"/X"}"#.utf8) + [0x0A]
        azure.appendToBlob(container: Self.rr, name: name, bytes: extra)

        let head = azure.handle(Sim.request(Self.blobPath(name), method: "HEAD", headers: headers))
        #expect(Sim.header(head, "Content-Length") == String(before.count + extra.count))
        let newTag = try #require(Sim.header(head, "ETag"))
        #expect(newTag != oldTag)
        var h = headers
        h["x-ms-range"] = "bytes=\(before.count)-"
        h["if-match"] = newTag
        let tail = azure.handle(Sim.request(Self.blobPath(name), headers: h))
        #expect(tail.status == 206 && tail.body == extra)
        h["if-match"] = oldTag
        #expect(azure.handle(Sim.request(Self.blobPath(name), headers: h)).status == 412)

        // Re-created: a new ETag and content from byte 0.
        let recreatedTag = azure.recreateBlob(container: Self.rr, name: name, bytes: Array("fresh\n".utf8))
        let again = azure.handle(Sim.request(Self.blobPath(name), headers: headers))
        #expect(again.body == Array("fresh\n".utf8) && Sim.header(again, "ETag") == "\"\(recreatedTag)\"")
    }

    @Test func sasAndBearerAuthFailuresAnswerStorageErrors() throws {
        let azure = try SimScenario.make()
        let list = "/\(Self.storageAccount)/\(Self.rr)?restype=container&comp=list"
        let sas = "&sv=2023-11-03&sr=c&sp=rl&se=2099-01-01T00%3A00%3A00Z&spr=https%2Chttp"
        let ok = azure.handle(Sim.request(list + sas + "&sig=" + Sim.encode(azure.options.sasSignature)))
        #expect(ok.status == 200)
        let wrong = azure.handle(Sim.request(list + sas + "&sig=bm90LXRoZS1zaWc%3D"))
        #expect(wrong.status == 403 && Sim.header(wrong, "x-ms-error-code") == "AuthenticationFailed")
        #expect(Sim.text(wrong).contains("<AuthenticationErrorDetail>Signature did not match."))
        let readOnly = azure.handle(Sim.request(list + sas.replacingOccurrences(of: "sp=rl", with: "sp=r") + "&sig=" + azure.options.sasSignature))
        #expect(readOnly.status == 403 && Sim.header(readOnly, "x-ms-error-code") == "AuthorizationPermissionMismatch")
        let expired = azure.handle(Sim.request(list + sas.replacingOccurrences(of: "2099", with: "2001") + "&sig=" + azure.options.sasSignature))
        #expect(expired.status == 403 && Sim.text(expired).contains("Signature not valid in the specified time frame"))

        let anonymous = azure.handle(Sim.request(list))
        #expect(anonymous.status == 401 && Sim.header(anonymous, "x-ms-error-code") == "NoAuthenticationInformation")
        #expect(Sim.header(anonymous, "WWW-Authenticate")?.contains("resource_id=https://storage.azure.com") == true)
        // A management token is the wrong audience.
        var arm = try Sim.bearer(azure, scope: Sim.armScope)
        arm["x-ms-version"] = "2023-11-03"
        let audience = azure.handle(Sim.request(list, headers: arm))
        #expect(audience.status == 401 && Sim.text(audience).contains("Audience validation failed."))
        #expect(azure.handle(Sim.request(list, headers: try Self.blobHeaders(azure))).status == 200)
        var noVersion = try Self.blobHeaders(azure)
        noVersion["x-ms-version"] = nil
        #expect(azure.handle(Sim.request(list, headers: noVersion)).status == 400)
    }

    @Test func faultKnobsHitEveryNthGetBlob() throws {
        let azure = try SimScenario.make {
            $0.serverErrorEvery = 2
            $0.truncateEvery = 3
            $0.slowSeconds = 0.25
        }
        let headers = try Self.blobHeaders(azure)
        let name = try #require(azure.blobNames(container: Self.rr).first)
        let r = (0..<3).map { _ in azure.handle(Sim.request(Self.blobPath(name), headers: headers)) }
        #expect(r[0].status == 200 && r[0].fault == .delay(seconds: 0.25))
        #expect(r[1].status == 503 && Sim.header(r[1], "x-ms-error-code") == "ServerBusy")
        #expect(r[2].status == 200 && r[2].fault == .truncate(afterBytes: r[2].body.count / 2))
        azure.updateOptions {
            $0.serverErrorEvery = nil
            $0.truncateEvery = nil
            $0.resetEvery = 1
        }
        #expect(azure.handle(Sim.request(Self.blobPath(name), headers: headers)).fault == .reset)
    }
}
