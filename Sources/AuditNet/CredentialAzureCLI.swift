import AuditCore
import Foundation

/// The signed-in Azure CLI: `az account get-access-token --output json --scope S [--tenant T]`
/// (formats.md §7.2). The token on `az`'s stdout is parsed, never shown; `az`'s stderr is shown
/// as one redacted line.
public final class AzureCLICredential: TokenProvider, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// How long `az` may take (it refreshes tokens over the network).
    public static let timeoutSeconds: Double = 30

    /// The full path of `az`.
    public let executable: String
    /// `--tenant` when the config names a tenant.
    public let tenantID: String?
    /// The zone `expiresOn` (local time, printed by CLIs older than 2.54.0) is read in.
    public let timeZone: TimeZone
    private let environment: [String: String]
    private let runner: CommandRunner
    private let cache: TokenCache

    public init(executable: String, tenantID: String?, environment: [String: String], runner: CommandRunner = .system,
                timeZone: TimeZone = .current, now: @escaping @Sendable () -> Int64 = { TimeArgument.nowMicros() }) throws(AuthError)
    {
        if let tenantID { try EntraTokenEndpoint.validate(tenant: tenantID, clientID: "az", method: .azureCLI) }
        self.executable = executable
        self.tenantID = tenantID
        self.timeZone = timeZone
        self.environment = environment
        self.runner = runner
        self.cache = TokenCache(now: now)
    }

    public var method: AuthMethod { .azureCLI }

    /// The arguments given to `az` for `scope`.
    public func arguments(scope: String) -> [String] {
        ["account", "get-access-token", "--output", "json", "--scope", scope] + (tenantID.map { ["--tenant", $0] } ?? [])
    }

    static let notFoundHint = "install the Azure CLI and run az login"

    private var loginHint: String { "run az login" + (tenantID.map { " --tenant \($0)" } ?? "") }

    public func token(scope: String) throws(AuthError) -> AccessToken {
        try cache.token(scope: scope) { (scope: String) throws(AuthError) -> AccessToken in
            guard !scope.trimmingSpaces.isEmpty, !scope.hasPrefix("-") else {
                throw AuthError(method: .azureCLI, message: "invalid scope '\(scope.prefixForDisplay(80))'")
            }
            let output: CommandOutput
            do throws(CommandRunError) {
                output = try runner.run(executable, arguments(scope: scope), environment, Self.timeoutSeconds)
            } catch {
                switch error {
                case .notFound:
                    throw AuthError(method: .azureCLI, message: "the Azure CLI was not found at \(executable); \(Self.notFoundHint)")
                case .timedOut:
                    throw AuthError(method: .azureCLI, message: "`az account get-access-token` did not finish within \(Int(Self.timeoutSeconds)) s; \(loginHint) in a terminal and try again")
                case .launchFailed(_, let message):
                    throw AuthError(method: .azureCLI, message: "cannot run \(executable): \(Redactor.redact(message)); \(Self.notFoundHint)")
                }
            }
            guard output.status == 0 else {
                let line = Self.firstNonEmptyLine(String(decoding: output.stderr, as: UTF8.self))
                let shown = line.isEmpty ? "" : ": " + Redactor.redact(line).prefixForDisplay(300)
                throw AuthError(method: .azureCLI, message: "`az account get-access-token` exited with status \(output.status)\(shown); \(loginHint)")
            }
            guard let token = parse(output.stdout) else {
                throw AuthError(method: .azureCLI, message: "`az account get-access-token` printed no accessToken; update the Azure CLI (az upgrade) and \(loginHint)")
            }
            return token
        }
    }

    /// `accessToken` with `expires_on` (POSIX seconds, CLI ≥ 2.54.0), else `expiresOn` (local
    /// time), else the JWT's `exp`, else one hour.
    func parse(_ stdout: [UInt8]) -> AccessToken? {
        guard let json = try? JSONParser.parse(stdout), let o = json.objectValue, let value = o["accessToken"]?.nonEmptyText else { return nil }
        let now = cache.now()
        let expiry: Int64
        if let on = o["expires_on"]?.int64, on > 0 {
            expiry = on * Timestamp.microsPerSecond
        } else if let text = o["expiresOn"]?.nonEmptyText, let local = Self.parseLocalTime(text, timeZone: timeZone) {
            expiry = local
        } else {
            expiry = TokenResponse.jwtExpiry(value) ?? now + TokenResponse.defaultLifetimeMicros
        }
        return AccessToken(value: value, expiresOnMicros: expiry)
    }

    /// `"2021-09-27 16:16:30.921462"` (also with a `T`, without the fraction) in `timeZone` →
    /// UTC microseconds.
    public static func parseLocalTime(_ text: String, timeZone: TimeZone) -> Int64? {
        let t = text.trimmingSpaces
        let parts = t.split(whereSeparator: { $0 == " " || $0 == "T" })
        guard parts.count == 2 else { return nil }
        let date = parts[0].split(separator: "-").compactMap { Int($0) }
        var clock = Substring(parts[1])
        var micros = 0
        if let dot = clock.firstIndex(of: ".") {
            let fraction = clock[clock.index(after: dot)...]
            guard !fraction.isEmpty, fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            micros = Int(String((fraction + "000000").prefix(6))) ?? 0
            clock = clock[..<dot]
        }
        let hms = clock.split(separator: ":").compactMap { Int($0) }
        guard date.count == 3, hms.count == 3 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let components = DateComponents(year: date[0], month: date[1], day: date[2], hour: hms[0], minute: hms[1], second: hms[2])
        guard let d = calendar.date(from: components) else { return nil }
        return Int64(d.timeIntervalSince1970.rounded()) * Timestamp.microsPerSecond + Int64(micros)
    }

    static func firstNonEmptyLine(_ text: String) -> String {
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            let t = line.trimmingSpaces
            if !t.isEmpty { return t }
        }
        return ""
    }

    public var description: String { "AzureCLICredential(\(executable)" + (tenantID.map { ", tenant: \($0)" } ?? "") + ")" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["executable": executable, "tenantID": tenantID as Any], displayStyle: .class) }
}
