import AuditCore
import AuditNet
import Foundation

/// An `HTTPTransport` that records requests and answers from a closure. The same credentials
/// run later against the loopback simulator through the real client.
final class FakeHTTP: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [HTTPRequest] = []
    private let respond: @Sendable (HTTPRequest) throws(HTTPError) -> HTTPResponse
    /// Seconds each answer takes (to make concurrent callers overlap).
    let delay: Double

    init(delay: Double = 0, _ respond: @escaping @Sendable (HTTPRequest) throws(HTTPError) -> HTTPResponse) {
        self.delay = delay
        self.respond = respond
    }

    /// Always the same JSON answer.
    convenience init(status: Int = 200, json: String, delay: Double = 0) {
        self.init(delay: delay) { _ in FakeHTTP.response(status, json) }
    }

    func send(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        lock.withLock { recorded.append(request) }
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        return try respond(request)
    }

    var stats: HTTPStats { HTTPStats() }
    var requests: [HTTPRequest] { lock.withLock { recorded } }

    static func response(_ status: Int, _ json: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["content-type": "application/json"], body: Array(json.utf8))
    }

    /// A token answer as Entra gives it (`expires_in` seconds).
    static func entraToken(_ value: String = "tok-1", expiresIn: String = "3599") -> String {
        #"{"token_type":"Bearer","expires_in":\#(expiresIn),"ext_expires_in":3599,"access_token":"\#(value)"}"#
    }
}

/// A clock tests move by hand (UTC microseconds).
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Int64

    init(_ start: Int64 = 1_716_991_200 * 1_000_000) { current = start }

    var now: Int64 { lock.withLock { current } }
    func advance(seconds: Int64) { lock.withLock { current += seconds * 1_000_000 } }
    var function: @Sendable () -> Int64 { { [self] in now } }
}

/// A scripted `az`: records the arguments and answers with a canned output.
final class FakeAz: @unchecked Sendable {
    private let lock = NSLock()
    private var calls: [[String]] = []
    let path: String?
    let output: @Sendable () throws(CommandRunError) -> CommandOutput

    init(path: String? = "/opt/az/bin/az", output: @escaping @Sendable () throws(CommandRunError) -> CommandOutput) {
        self.path = path
        self.output = output
    }

    convenience init(path: String? = "/opt/az/bin/az", status: Int32 = 0, stdout: String = "", stderr: String = "") {
        self.init(path: path) { CommandOutput(status: status, stdout: Array(stdout.utf8), stderr: Array(stderr.utf8)) }
    }

    var arguments: [[String]] { lock.withLock { calls } }

    var runner: CommandRunner {
        CommandRunner(
            locate: { [path] name, _ in name == "az" ? path : nil },
            run: { [self] _, args, _, _ throws(CommandRunError) -> CommandOutput in
                lock.withLock { calls.append(args) }
                return try output()
            })
    }

    /// An `az` that is not installed.
    static var missing: CommandRunner {
        CommandRunner(locate: { _, _ in nil }, run: { exe, _, _, _ throws(CommandRunError) -> CommandOutput in throw .notFound(executable: exe) })
    }
}

enum AuthTestData {
    static let tenant = "99999999-8888-7777-6666-555555555555"
    static let clientID = "12345678-aaaa-bbbb-cccc-1234567890ab"
    static let secret = "Sec&ret=Va+lue%20~x"
    static let login = "https://login.microsoftonline.com"
    static let armScope = "https://management.azure.com/.default"

    static var clientSecretEnv: [String: String] {
        ["AZURE_TENANT_ID": tenant, "AZURE_CLIENT_ID": clientID, "AZURE_CLIENT_SECRET": secret]
    }

    /// `application/x-www-form-urlencoded` body → fields (decoded).
    static func form(_ request: HTTPRequest) -> [String: String] {
        let body = String(decoding: request.body ?? [], as: UTF8.self)
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            fields[parts[0].removingPercentEncoding ?? parts[0]] = parts.count > 1 ? (parts[1].removingPercentEncoding ?? parts[1]) : ""
        }
        return fields
    }

    static func header(_ request: HTTPRequest, _ name: String) -> String? {
        request.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    static func base64URL(_ s: String) -> String {
        Data(s.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A hand-made unsigned JWT with `payload` as its claims.
    static func jwt(_ payload: String) -> String {
        base64URL(#"{"typ":"JWT","alg":"RS256","kid":"test"}"#) + "." + base64URL(payload) + ".c2lnbmF0dXJl"
    }

    /// Everything a caller could print about a value.
    static func allRenderings(_ value: Any) -> String {
        var dumped = ""
        dump(value, to: &dumped)
        return "\(value)\n" + String(reflecting: value) + "\n" + dumped
    }
}
