import AuditCore
import Foundation

/// How one doctor check came out, mildest first (so `max` is the worst).
public enum DoctorStatus: String, Sendable, Comparable, CaseIterable {
    case ok, warn, fail

    var rank: Int {
        switch self {
        case .ok: return 0
        case .warn: return 1
        case .fail: return 2
        }
    }

    public static func < (a: DoctorStatus, b: DoctorStatus) -> Bool { a.rank < b.rank }

    /// `ok`, `WARN`, `FAIL`: the table's first column (problems stand out).
    public var label: String {
        switch self {
        case .ok: return "ok"
        case .warn: return "WARN"
        case .fail: return "FAIL"
        }
    }
}

/// One thing `doctor` looked at: which check, how it came out, what it saw, and (when not ok)
/// what to do. Every text is one line and holds no secret, token or SAS signature.
public struct DoctorFinding: Sendable, Equatable {
    /// `config`, `credentials`, `endpoint`, `permissions`, `database`, `source` or `disk`.
    public var check: String
    public var status: DoctorStatus
    public var detail: String
    /// What to do; nil when the finding is ok.
    public var fix: String?

    public init(check: String, status: DoctorStatus, detail: String, fix: String? = nil) {
        self.check = check
        self.status = status
        self.detail = Self.oneLine(detail)
        self.fix = status == .ok ? nil : fix.map(Self.oneLine)
    }

    public static func ok(_ check: String, _ detail: String) -> DoctorFinding { DoctorFinding(check: check, status: .ok, detail: detail) }
    public static func warn(_ check: String, _ detail: String, fix: String) -> DoctorFinding {
        DoctorFinding(check: check, status: .warn, detail: detail, fix: fix)
    }
    public static func fail(_ check: String, _ detail: String, fix: String) -> DoctorFinding {
        DoctorFinding(check: check, status: .fail, detail: detail, fix: fix)
    }

    /// Line breaks folded, secrets redacted.
    static func oneLine(_ text: String) -> String {
        Redactor.redact(text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: " "))
    }
}

/// Everything `doctor` found, in check order.
public struct DoctorReport: Sendable {
    public var findings: [DoctorFinding]

    public init(findings: [DoctorFinding] = []) { self.findings = findings }

    /// The worst status (ok when there are no findings).
    public var worst: DoctorStatus { findings.map(\.status).max() ?? .ok }

    /// contracts.md: 0 all ok, 3 a warning (done with losses), 1 a failure.
    public var exitCode: Int32 {
        switch worst {
        case .ok: return 0
        case .warn: return 3
        case .fail: return 1
        }
    }

    /// One line per finding, `ok|WARN|FAIL  check  detail`, then `  fix: …` under each that
    /// is not ok; a last line counts them.
    public var table: String { text(includeOK: true) }

    /// The table; without `includeOK`, only the findings that are not ok (the count line
    /// still counts them all).
    public func text(includeOK: Bool) -> String {
        let width = findings.map(\.check.count).max() ?? 0
        var out = ""
        for f in findings where includeOK || f.status != .ok {
            let label = f.status.label.padding(toLength: 4, withPad: " ", startingAt: 0)
            out += label + "  " + f.check.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + f.detail + "\n"
            if let fix = f.fix { out += "  fix: " + fix + "\n" }
        }
        let n = { (s: DoctorStatus) in self.findings.filter { $0.status == s }.count }
        out += "doctor: \(findings.count) checks, \(n(.ok)) ok, \(n(.warn)) warning\(n(.warn) == 1 ? "" : "s"), \(n(.fail)) failed\n"
        return out
    }

    /// `{"schema_version":1,"findings":[{"check","status","detail","fix"}],"worst":"ok|warn|fail"}`.
    public var json: String {
        JSONValue.object(JSONObject([
            ("schema_version", .number("1")),
            ("findings", .array(findings.map { f in
                .object(JSONObject([
                    ("check", .string(f.check)), ("status", .string(f.status.rawValue)), ("detail", .string(f.detail)),
                    ("fix", f.fix.map { .string($0) } ?? .null),
                ]))
            })),
            ("worst", .string(worst.rawValue)),
        ])).serialized + "\n"
    }
}
