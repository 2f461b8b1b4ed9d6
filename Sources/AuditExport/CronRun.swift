import AuditCore
import AuditStore
import Foundation

// Pieces of `aoai-audit run` (the cron run) and `aoai-audit schedule` that are not CLI glue:
// the run lock, when exports are due, step results and their text/JSON lines, crontab editing.

// MARK: - Lock

/// Why the run lock could not be taken.
public enum RunLockError: Error, Sendable, CustomStringConvertible {
    /// Another process holds the lock (its pid when the lock file names it).
    case held(path: String, pid: Int32?)
    case io(path: String, message: String)

    public var description: String {
        switch self {
        case .held(let path, let pid):
            let who = pid.map { "pid \($0)" } ?? "pid unknown"
            return "another aoai-audit run holds \(path) (\(who)); let it finish (cron will run again at the next slot), or stop it first (kill \(pid.map(String.init) ?? "<pid>")) if it is stuck"
        case .io(let path, let message):
            return "cannot use the lock file \(path): \(message); check the database folder is writable"
        }
    }
}

/// An exclusive `flock` on `<database>.lock`, held while this object lives (the fd stays open).
/// The lock file stays on disk; the lock itself dies with the process, so a killed run never
/// leaves a stale lock behind.
public final class RunLock {
    public let path: String
    let fd: Int32

    /// `<database>.lock` beside the database.
    public static func path(forDatabase db: String) -> String { db + ".lock" }

    /// Takes the lock without waiting.
    /// - Throws: `RunLockError.held` when another process has it.
    public init(path: String) throws(RunLockError) {
        self.path = path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io(path: path, message: String(cString: strerror(errno))) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            let pid = Self.readPID(fd)
            close(fd)
            if e == EWOULDBLOCK || e == EAGAIN { throw .held(path: path, pid: pid) }
            throw .io(path: path, message: String(cString: strerror(e)))
        }
        self.fd = fd
        // Name the holder for the next run's message (best effort).
        let text = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit { close(fd) }

    static func readPID(_ fd: Int32) -> Int32? {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 31, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

// MARK: - Schedule

/// A bad `exports.schedule` or `exports.weekday` value.
public struct ScheduleConfigError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}

/// `exports.schedule` / `exports.weekday`: when exports are due and how cron/systemd say it.
public struct ExportSchedule: Sendable, Equatable {
    public enum Kind: String, Sendable { case daily, weekly }
    public var kind: Kind = .weekly
    /// 0 = Sunday … 6 = Saturday (cron numbering).
    public var weekday: Int = 1
    /// The time of day the scheduled run starts (UTC).
    public var hour: Int = 6

    static let dayNames = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]

    public init() {}

    /// From the config section; absent values give weekly on Monday.
    /// - Throws: `ScheduleConfigError` naming the bad key and the valid values.
    public init(_ config: ExportConfig) throws(ScheduleConfigError) {
        if let s = config.schedule {
            guard let k = Kind(rawValue: s.lowercased()) else {
                throw ScheduleConfigError(message: "config exports.schedule: '\(s)' is not valid (weekly or daily)")
            }
            kind = k
        }
        if let w = config.weekday {
            guard let d = Self.parseWeekday(w) else {
                throw ScheduleConfigError(message: "config exports.weekday: '\(w)' is not a weekday (monday … sunday, mon, or 0–7 as in cron)")
            }
            weekday = d
        }
    }

    public static func parseWeekday(_ s: String) -> Int? {
        let t = s.trimmingCharacters(in: .whitespaces).lowercased()
        if let n = Int(t), (0...7).contains(n) { return n % 7 }
        guard t.count >= 3 else { return nil }
        return dayNames.firstIndex { $0.hasPrefix(t) }
    }

    public var weekdayName: String { Self.dayNames[weekday] }

    /// The start of the period containing `nowUs`: 00:00Z today (daily) or 00:00Z of the
    /// latest `weekday` at or before today (weekly).
    public func periodStart(nowUs: Int64) -> Int64 {
        let day = Int64((Double(nowUs) / 86_400_000_000).rounded(.down))
        let dayStart = day * 86_400_000_000
        guard kind == .weekly else { return dayStart }
        // 1970-01-01 was a Thursday (4).
        let dow = Int(((day % 7) + 7 + 4) % 7)
        let back = (dow - weekday + 7) % 7
        return dayStart - Int64(back) * 86_400_000_000
    }

    /// The start of the next period.
    public func nextPeriodStart(nowUs: Int64) -> Int64 {
        periodStart(nowUs: nowUs) + (kind == .weekly ? 7 : 1) * 86_400_000_000
    }

    /// `0 6 * * 1` (weekly) or `0 6 * * *` (daily).
    public var cronExpression: String { "0 \(hour) * * " + (kind == .weekly ? String(weekday) : "*") }

    /// systemd `OnCalendar=` value, e.g. `Mon *-*-* 06:00:00 UTC`.
    public var onCalendar: String {
        let time = String(format: "%02d:00:00", hour)
        if kind == .daily { return "*-*-* \(time) UTC" }
        return String(weekdayName.prefix(1)).uppercased() + weekdayName.dropFirst().prefix(2) + " *-*-* \(time) UTC"
    }

    /// `weekly on monday` / `daily`.
    public var text: String { kind == .weekly ? "weekly on \(weekdayName)" : "daily" }

    /// The start time of the latest successful export recorded in `runs` since the period began
    /// (nil: the export is due).
    public func lastExport(in db: Database, nowUs: Int64) throws -> Int64? {
        let rows = try db.connection.rows(
            "SELECT max(started_us) FROM runs WHERE command = 'export' AND status = 'ok' AND started_us >= ?1",
            [.integer(periodStart(nowUs: nowUs))])
        return rows.first?[0].integer
    }
}

// MARK: - Steps

/// One step of a cron run and how it went.
public struct RunStep: Sendable {
    public enum Status: String, Sendable { case ok, skipped, failed }
    public var name: String
    public var status: Status
    /// The human part of the line, e.g. `3 files, 1234 rows` or `not due (…)`.
    public var message: String
    /// Extra JSON members (values already JSON).
    public var fields: [(String, JSONValue)] = []
    public var elapsedMs: Int64 = 0

    public init(name: String, status: Status, message: String, fields: [(String, JSONValue)] = []) {
        self.name = name
        self.status = status
        self.message = message
        self.fields = fields
    }

    /// `correlate: ok: 2 bursts, 1 new`.
    public var textLine: String { "\(name): \(status.rawValue): \(message)" }

    /// `{"schema_version":1,"step":"correlate","status":"ok","message":"…",…}`.
    public var jsonLine: String {
        var members: [(String, JSONValue)] = [
            ("schema_version", .number("1")), ("step", .string(name)), ("status", .string(status.rawValue)),
            ("message", .string(message)), ("elapsed_ms", .number(String(elapsedMs))),
        ]
        members += fields
        var out = "{"
        for (i, m) in members.enumerated() {
            if i > 0 { out += "," }
            JSONValue.writeString(m.0, to: &out)
            out += ":"
            m.1.write(to: &out)
        }
        return out + "}"
    }
}

// MARK: - Crontab

public enum CrontabEditor {
    /// The marker at the end of the managed line.
    public static let marker = "# aoai-audit"

    /// `existing` with every marked line replaced by `line + marker` (once, where the first one
    /// was, else at the end). Unmarked lines are kept as they are.
    public static func merge(existing: String, line: String) -> String {
        let managed = line + " " + marker
        var out: [String] = []
        var placed = false
        for l in existing.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if l.hasSuffix(marker) || l.contains(marker + " ") {
                if !placed { out.append(managed); placed = true }
                continue
            }
            out.append(l)
        }
        while let last = out.last, last.isEmpty { out.removeLast() }
        if !placed { out.append(managed) }
        return out.joined(separator: "\n") + "\n"
    }

    /// Quotes `s` for /bin/sh when it needs it.
    public static func shellQuote(_ s: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@")
        if !s.isEmpty && s.allSatisfy({ safe.contains($0) }) { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
