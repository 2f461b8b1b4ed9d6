import Glibc

/// UTC instants as integer microseconds since 1970-01-01T00:00:00Z, the storage unit of the
/// whole tool, and the parsers for every timestamp form Azure and status pages emit.
public enum Timestamp {
    public static let microsPerSecond: Int64 = 1_000_000
    public static let microsPerMinute: Int64 = 60_000_000
    public static let microsPerHour: Int64 = 3_600_000_000
    public static let microsPerDay: Int64 = 86_400_000_000

    /// .NET ticks (100 ns since 0001-01-01) of the Unix epoch.
    public static let unixEpochTicks: Int64 = 621_355_968_000_000_000

    /// Parses any of the forms seen in Azure and status feeds:
    /// ISO 8601 with 0–9 fractional digits, `Z`, `±hh:mm`, `±hhmm` or no zone (UTC assumed), a space
    /// instead of `T`, a date alone; RFC 822 dates with `GMT`, `UT`, bare `Z`, `±hhmm` or US zone
    /// names; US-locale `M/d/yyyy h:mm:ss AM +01:00`; and .NET ticks given as an integer.
    public static func parse(_ text: String) -> Int64? {
        let t = text.trimmingSpaces
        guard !t.isEmpty else { return nil }
        var bytes = Array(t.utf8)
        bytes.append(0)  // sentinel
        let n = bytes.count - 1
        let first = bytes[0]
        if isDigit(first) {
            // All digits: .NET ticks (18 digits) or Unix seconds / milliseconds.
            if bytes[0..<n].allSatisfy(isDigit), let v = Int64(t) {
                return fromNumber(v)
            }
            if n >= 10, isDigit(bytes[0]), isDigit(bytes[1]), isDigit(bytes[2]), isDigit(bytes[3]), bytes[4] == 0x2D {
                return parseISO(bytes, n)
            }
            return parseUS(bytes, n)
        }
        return parseRFC822(bytes, n)
    }

    /// A number that stands for a time: .NET ticks, Unix milliseconds or Unix seconds.
    public static func fromNumber(_ v: Int64) -> Int64? {
        if v > 100_000_000_000_000_000 { return (v - unixEpochTicks) / 10 }  // ticks
        if v > 100_000_000_000_000 { return v }  // already microseconds
        if v > 100_000_000_000 { return v * 1000 }  // milliseconds
        if v > 0 { return v * microsPerSecond }
        return nil
    }

    /// Microseconds from .NET ticks.
    public static func fromTicks(_ ticks: Int64) -> Int64 { (ticks - unixEpochTicks) / 10 }

    // MARK: - Calendar

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    public static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// (year, month, day) of a day count since 1970-01-01.
    public static func civilFromDays(_ z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    public static func make(year: Int64, month: Int64, day: Int64, hour: Int64 = 0, minute: Int64 = 0, second: Int64 = 0, micros: Int64 = 0) -> Int64? {
        guard (1...12).contains(month), (1...31).contains(day), (0...24).contains(hour), (0...59).contains(minute), (0...60).contains(second), year >= 1, year <= 9999 else { return nil }
        let days = daysFromCivil(year, month, day)
        return ((days * 24 + hour) * 60 + minute) * 60 * microsPerSecond + second * microsPerSecond + micros
    }

    // MARK: - Formatting

    /// `2026-11-23T04:05:06.123456Z` (the contract's cell format). Written digit by digit into
    /// a fixed 27-byte string: it runs for every exported row.
    public static func iso(_ us: Int64) -> String {
        let (days, rem) = floorDivMod(us, microsPerDay)
        let (y, m, d) = civilFromDays(days)
        let secs = rem / microsPerSecond
        let frac = rem % microsPerSecond
        guard (0...9999).contains(y) else { return String(y) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T00:00:00.000000Z" }
        return String(unsafeUninitializedCapacity: 27) { b in
            func put(_ v: Int64, _ at: Int, _ width: Int) {
                var x = v
                for k in stride(from: width - 1, through: 0, by: -1) { b[at + k] = UInt8(x % 10) + 0x30; x /= 10 }
            }
            put(y, 0, 4); b[4] = 0x2D; put(m, 5, 2); b[7] = 0x2D; put(d, 8, 2); b[10] = 0x54
            put(secs / 3600, 11, 2); b[13] = 0x3A; put(secs / 60 % 60, 14, 2); b[16] = 0x3A; put(secs % 60, 17, 2)
            b[19] = 0x2E; put(frac, 20, 6); b[26] = 0x5A
            return 27
        }
    }

    /// `2026-11-23T04:05:06Z` (seconds precision, for people).
    public static func isoSeconds(_ us: Int64) -> String {
        let s = iso(us)
        return String(s.prefix(19)) + "Z"
    }

    /// `20261123T040506Z` (basic ISO 8601, for file names).
    public static func basic(_ us: Int64) -> String {
        let (days, rem) = floorDivMod(us, microsPerDay)
        let (y, m, d) = civilFromDays(days)
        let secs = rem / microsPerSecond
        return pad(y, 4) + pad(m, 2) + pad(d, 2) + "T" + pad(secs / 3600, 2) + pad(secs / 60 % 60, 2) + pad(secs % 60, 2) + "Z"
    }

    static func floorDivMod(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        var q = a / b
        var r = a % b
        if r < 0 { q -= 1; r += b }
        return (q, r)
    }

    /// Start of the minute holding `us`.
    public static func minuteFloor(_ us: Int64) -> Int64 { floorDivMod(us, microsPerMinute).0 * microsPerMinute }

    private static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    // MARK: - Parsers

    @inline(__always) private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private static func digits(_ b: [UInt8], _ i: inout Int, min: Int, max: Int) -> Int64? {
        var v: Int64 = 0
        var count = 0
        while count < max, isDigit(b[i]) {
            v = v * 10 + Int64(b[i] - 0x30)
            i += 1
            count += 1
        }
        return count >= min ? v : nil
    }

    /// Parses a zone suffix starting at `i`: `Z`, `±hh:mm`, `±hhmm`, `±hh`, `GMT`, `UTC`, `UT`, US zones.
    /// Returns the offset in seconds to *subtract* from local time, or nil when unrecognized.
    private static func zone(_ b: [UInt8], _ i: inout Int, _ n: Int) -> Int64? {
        while i < n, b[i] == 0x20 { i += 1 }
        if i >= n { return 0 }
        let c = b[i]
        if c == UInt8(ascii: "Z") || c == UInt8(ascii: "z") { i += 1; return 0 }
        if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
            let sign: Int64 = c == UInt8(ascii: "+") ? 1 : -1
            i += 1
            guard let hh = digits(b, &i, min: 2, max: 2) else { return nil }
            var mm: Int64 = 0
            if b[i] == UInt8(ascii: ":") { i += 1 }
            if isDigit(b[i]) { guard let m = digits(b, &i, min: 2, max: 2) else { return nil }; mm = m }
            return sign * (hh * 3600 + mm * 60)
        }
        var name: [UInt8] = []
        while i < n, (b[i] >= 0x41 && b[i] <= 0x5A) || (b[i] >= 0x61 && b[i] <= 0x7A) { name.append(b[i] | 0x20); i += 1 }
        switch String(decoding: name, as: UTF8.self) {
        case "gmt", "utc", "ut": return 0
        case "est": return -5 * 3600
        case "edt": return -4 * 3600
        case "cst": return -6 * 3600
        case "cdt": return -5 * 3600
        case "mst": return -7 * 3600
        case "mdt": return -6 * 3600
        case "pst": return -8 * 3600
        case "pdt": return -7 * 3600
        default: return nil
        }
    }

    private static func fraction(_ b: [UInt8], _ i: inout Int) -> Int64 {
        guard b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: ",") else { return 0 }
        i += 1
        var micros: Int64 = 0
        var count = 0
        while isDigit(b[i]) {
            if count < 6 { micros = micros * 10 + Int64(b[i] - 0x30) }
            count += 1
            i += 1
        }
        while count < 6 { micros *= 10; count += 1 }
        return micros
    }

    /// `h:mm[:ss]` at `i`; nil when malformed.
    private static func clock(_ b: [UInt8], _ i: inout Int) -> (Int64, Int64, Int64)? {
        guard let hh = digits(b, &i, min: 1, max: 2), b[i] == UInt8(ascii: ":") else { return nil }
        i += 1
        guard let mi = digits(b, &i, min: 2, max: 2) else { return nil }
        var ss: Int64 = 0
        if b[i] == UInt8(ascii: ":") {
            i += 1
            guard let s = digits(b, &i, min: 2, max: 2) else { return nil }
            ss = s
        }
        return (hh, mi, ss)
    }

    /// The zone suffix (which must end the text) applied to a local date and time.
    private static func finish(_ b: [UInt8], _ i: inout Int, _ n: Int, _ y: Int64, _ mo: Int64, _ d: Int64, _ t: (Int64, Int64, Int64), _ micros: Int64) -> Int64? {
        guard let off = zone(b, &i, n), i == n else { return nil }
        guard let local = make(year: y, month: mo, day: d, hour: t.0, minute: t.1, second: t.2, micros: micros) else { return nil }
        return local - off * microsPerSecond
    }

    private static func parseISO(_ b: [UInt8], _ n: Int) -> Int64? {
        var i = 0
        guard let y = digits(b, &i, min: 4, max: 4), b[i] == 0x2D else { return nil }
        i += 1
        guard let mo = digits(b, &i, min: 1, max: 2), b[i] == 0x2D else { return nil }
        i += 1
        guard let d = digits(b, &i, min: 1, max: 2) else { return nil }
        if i >= n { return make(year: y, month: mo, day: d) }
        guard b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: "t") || b[i] == 0x20 else { return nil }
        i += 1
        guard let t = clock(b, &i) else { return nil }
        let micros = fraction(b, &i)
        return finish(b, &i, n, y, mo, d, t, micros)
    }

    /// `M/d/yyyy h:mm[:ss] [AM|PM] [zone]` (US locale, as .NET's default ToString writes it).
    private static func parseUS(_ b: [UInt8], _ n: Int) -> Int64? {
        var i = 0
        guard let mo = digits(b, &i, min: 1, max: 2), b[i] == UInt8(ascii: "/") else { return nil }
        i += 1
        guard let d = digits(b, &i, min: 1, max: 2), b[i] == UInt8(ascii: "/") else { return nil }
        i += 1
        guard let y = digits(b, &i, min: 4, max: 4) else { return nil }
        var hh: Int64 = 0, mi: Int64 = 0, ss: Int64 = 0, micros: Int64 = 0
        while b[i] == 0x20 { i += 1 }
        if i < n, isDigit(b[i]) {
            guard let t = clock(b, &i) else { return nil }
            (hh, mi, ss) = t
            micros = fraction(b, &i)
            while b[i] == 0x20 { i += 1 }
            if i + 1 < n + 1, (b[i] | 0x20) == UInt8(ascii: "a") || (b[i] | 0x20) == UInt8(ascii: "p"), (b[i + 1] | 0x20) == UInt8(ascii: "m") {
                let pm = (b[i] | 0x20) == UInt8(ascii: "p")
                guard (1...12).contains(hh) else { return nil }
                if hh == 12 { hh = 0 }
                if pm { hh += 12 }
                i += 2
            }
        }
        return finish(b, &i, n, y, mo, d, (hh, mi, ss), micros)
    }

    private static let months: [String: Int64] = [
        "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
        "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
    ]

    /// `Wed, 29 May 2024 14:05:00 Z` and the other RFC 822 / 1123 variants.
    private static func parseRFC822(_ b: [UInt8], _ n: Int) -> Int64? {
        var i = 0
        // Optional day name and comma.
        while i < n, !isDigit(b[i]) { i += 1 }
        guard let d = digits(b, &i, min: 1, max: 2) else { return nil }
        while b[i] == 0x20 || b[i] == 0x2D { i += 1 }
        var name: [UInt8] = []
        while i < n, (b[i] >= 0x41 && b[i] <= 0x5A) || (b[i] >= 0x61 && b[i] <= 0x7A) { name.append(b[i] | 0x20); i += 1 }
        guard name.count >= 3, let mo = months[String(decoding: name.prefix(3), as: UTF8.self)] else { return nil }
        while b[i] == 0x20 || b[i] == 0x2D { i += 1 }
        guard var y = digits(b, &i, min: 2, max: 4) else { return nil }
        if y < 100 { y += y < 70 ? 2000 : 1900 }
        while b[i] == 0x20 { i += 1 }
        var t: (Int64, Int64, Int64) = (0, 0, 0)
        if isDigit(b[i]) {
            guard let c = clock(b, &i) else { return nil }
            t = c
        }
        let micros = fraction(b, &i)
        return finish(b, &i, n, y, mo, d, t, micros)
    }
}

/// A time option as users type it: an ISO date or time, or a duration counted back from now.
public enum TimeArgument {
    /// Parses `2026-11-23`, `2026-11-23T04:00:00Z`, `7d`, `36h`, `90m`, `45s`, `2w`.
    /// - Parameter now: the current time in microseconds (injected for tests).
    public static func parse(_ text: String, now: Int64) -> Int64? {
        let t = text.trimmingSpaces
        if let last = t.last, let unit = durationUnit(last), let n = Int64(t.dropLast()), n >= 0 {
            return now - n * unit
        }
        return Timestamp.parse(t)
    }

    /// A duration as config files spell it (`90m`, `2h`, `1d`, `45s`, `2w`) in microseconds;
    /// nil for anything else, and for zero unless `allowZero`.
    public static func duration(_ text: String, allowZero: Bool = false) -> Int64? {
        let t = text.trimmingSpaces
        guard let last = t.last, let unit = durationUnit(last), let n = Int64(t.dropLast()), n > 0 || (allowZero && n == 0) else { return nil }
        return n * unit
    }

    private static func durationUnit(_ c: Character) -> Int64? {
        switch c {
        case "s": return Timestamp.microsPerSecond
        case "m": return Timestamp.microsPerMinute
        case "h": return Timestamp.microsPerHour
        case "d": return Timestamp.microsPerDay
        case "w": return 7 * Timestamp.microsPerDay
        default: return nil
        }
    }

    /// Microseconds since the Unix epoch, now.
    public static func nowMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }
}
