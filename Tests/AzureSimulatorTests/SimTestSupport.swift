import AuditCore
import AuditTestSupport
import AzureSimulator
import Foundation
import Testing

/// One small planted scenario (3 hours, 2 requests a minute per account), written once per
/// test run and shared by the tests that read a scenario; removed when the process exits.
enum SimScenario {
    static let gitPath: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        .map { String($0) + "/git" }.first(where: { FileManager.default.isExecutableFile(atPath: $0) })

    /// The temporary folder; removed when the test process exits.
    static let root: String = {
        let dir = TestSupport.makeTempDirectory("sim-azure").path
        atexit { try? FileManager.default.removeItem(atPath: SimScenario.root) }
        return dir
    }()

    static let written: Result<String, any Error> = {
        var options = PlantedOptions()
        options.seed = 5
        options.hours = 3
        options.requestsPerMinute = 2
        let dir = root + "/scenario"
        return Result { _ = try PlantedScenario.write(to: dir, options: options); return dir }
    }()

    static func directory() throws -> String { try written.get() }

    /// A simulator over the shared scenario.
    static func make(_ change: (inout SimAzureOptions) -> Void = { _ in }) throws -> SimAzure {
        var options = SimAzureOptions()
        change(&options)
        return try SimAzure(scenario: directory(), options: options)
    }

    /// The scenario's REST-shape Activity Log events.
    static func restEvents() throws -> [JSONValue] {
        let dir = try directory() + "/activity"
        var out: [JSONValue] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() where name.hasPrefix("rest-page-") {
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
            out += try JSONParser.parse(Array(data))["value"]?.arrayValue ?? []
        }
        return out
    }

    /// The scenario's `RequestResponse` records (decompressed with AuditCore's reader).
    static func diagnosticRecords() throws -> [JSONValue] {
        let dir = try directory() + "/diagnostics"
        var out: [JSONValue] = []
        for account in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() {
            for name in try FileManager.default.contentsOfDirectory(atPath: dir + "/" + account).sorted() {
                let reader = try ChunkReader(path: dir + "/" + account + "/" + name)
                var bytes: [UInt8] = []
                while let chunk = try reader.next() { bytes += chunk }
                for line in bytes.split(separator: 0x0A) where !line.isEmpty {
                    out.append(try JSONParser.parse(Array(line)))
                }
            }
        }
        return out
    }

    static func truth() throws -> JSONValue {
        try JSONParser.parse(Array(Data(contentsOf: URL(fileURLWithPath: directory() + "/truth.json"))))
    }
}

/// Building requests and reading responses.
enum Sim {
    static let host = "127.0.0.1:8443"

    /// A request for an absolute URL or a path with a query (`/a/b?x=1`), decoded as the
    /// server decodes it.
    static func request(
        _ url: String, method: String = "GET", headers: [String: String] = [:], body: [UInt8] = []
    ) -> SimRequest {
        var rest = Substring(url)
        var host = Self.host
        if let scheme = rest.range(of: "://") {
            rest = rest[scheme.upperBound...]
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            host = String(rest[..<slash])
            rest = rest[slash...]
        }
        let parts = rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var query: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query[String(kv[0]).removingPercentEncoding ?? String(kv[0])] = kv.count > 1 ? (String(kv[1]).removingPercentEncoding ?? "") : ""
            }
        }
        var h = ["host": host]
        for (k, v) in headers { h[k.lowercased()] = v }
        return SimRequest(method: method, path: String(parts[0]).removingPercentEncoding ?? String(parts[0]), query: query, headers: h, body: body)
    }

    static func encode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    /// `POST /{tenant}/oauth2/v2.0/token` with a form body.
    static func tokenRequest(_ form: [(String, String)], tenant: String = SimAzureOptions().tenant) -> SimRequest {
        let body = form.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
        return request(
            "/\(tenant)/oauth2/v2.0/token", method: "POST", headers: ["content-type": "application/x-www-form-urlencoded"],
            body: Array(body.utf8))
    }

    /// A token from the token endpoint for `scope`, as the configured client.
    static func token(_ azure: SimAzure, scope: String) throws -> String {
        let o = azure.options
        let r = azure.handle(
            tokenRequest([
                ("client_id", o.clientID), ("client_secret", o.clientSecret), ("scope", scope), ("grant_type", "client_credentials"),
            ]))
        #expect(r.status == 200)
        return try #require(json(r)["access_token"]?.text)
    }

    static func bearer(_ azure: SimAzure, scope: String) throws -> [String: String] {
        ["authorization": "Bearer " + (try token(azure, scope: scope))]
    }

    static let armScope = "https://management.azure.com/.default"
    static let storageScope = "https://storage.azure.com/.default"
    static let logAnalyticsScope = "https://api.loganalytics.io/.default"
    static let cognitiveScope = "https://cognitiveservices.azure.com/.default"

    static func json(_ r: SimResponse) throws -> JSONValue { try JSONParser.parse(r.body) }

    static func text(_ r: SimResponse) -> String { String(decoding: r.body, as: UTF8.self) }

    static func header(_ r: SimResponse, _ name: String) -> String? {
        r.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The `<Tag>…</Tag>` texts of an XML body, in order.
    static func xmlValues(_ xml: String, _ tag: String) -> [String] {
        var out: [String] = []
        var rest = Substring(xml)
        while let open = rest.range(of: "<\(tag)>") {
            rest = rest[open.upperBound...]
            guard let close = rest.range(of: "</\(tag)>") else { break }
            out.append(String(rest[..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return out
    }
}
