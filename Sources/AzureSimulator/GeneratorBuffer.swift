#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import AuditCore

/// A growable byte buffer with the few JSON-writing primitives the generator needs.
///
/// Records are built here byte by byte instead of through `String` interpolation or
/// `JSONSerialization`, which keeps a million records to a few seconds.
struct GeneratorBuffer {
    private(set) var bytes: [UInt8]

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    var count: Int { bytes.count }

    mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    @inline(__always) mutating func byte(_ b: UInt8) { bytes.append(b) }

    /// Appends literal text (no escaping).
    @inline(__always) mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Appends text as is (no escaping): only for values known to hold no `"`, `\` or controls.
    @inline(__always) mutating func raw(_ s: String) { bytes.append(contentsOf: s.utf8) }

    /// Appends pre-built bytes.
    @inline(__always) mutating func raw(_ chunk: [UInt8]) { bytes.append(contentsOf: chunk) }

    /// Appends `s` as a JSON string literal, quotes included.
    mutating func string(_ s: String) {
        byte(0x22)
        escaped(s)
        byte(0x22)
    }

    /// Appends the JSON-escaped content of `s` (no surrounding quotes).
    mutating func escaped(_ s: String) {
        for u in s.utf8 {
            switch u {
            case 0x22: byte(0x5C); byte(0x22)
            case 0x5C: byte(0x5C); byte(0x5C)
            case 0x0A: byte(0x5C); byte(0x6E)
            case 0x0D: byte(0x5C); byte(0x72)
            case 0x09: byte(0x5C); byte(0x74)
            case 0..<0x20:
                raw("\\u00")
                byte(Self.hexLower[Int(u >> 4)])
                byte(Self.hexLower[Int(u & 0xF)])
            default: byte(u)
            }
        }
    }

    /// Appends `key` as a JSON string followed by `:`.
    @inline(__always) mutating func key(_ k: StaticString) {
        byte(0x22)
        raw(k)
        byte(0x22)
        byte(0x3A)
    }

    /// Appends a decimal integer.
    mutating func int(_ value: Int64) {
        var v: UInt64
        if value < 0 {
            byte(0x2D)
            v = UInt64(bitPattern: 0 &- value)
        } else {
            v = UInt64(value)
        }
        var digits = 1
        var probe = v
        while probe >= 10 { probe /= 10; digits += 1 }
        let end = bytes.count + digits
        bytes.append(contentsOf: repeatElement(0x30, count: digits))
        var i = end - 1
        repeat {
            bytes[i] = 0x30 &+ UInt8(truncatingIfNeeded: v % 10)
            v /= 10
            i -= 1
        } while v > 0
    }

    @inline(__always) mutating func int(_ value: Int) { int(Int64(value)) }

    /// Appends `value` (≥ 0) in decimal, zero-padded to at least `width` digits.
    mutating func padded(_ value: Int64, width: Int) {
        var digits = 1
        var probe = value
        while probe >= 10 { probe /= 10; digits += 1 }
        if digits < width { bytes.append(contentsOf: repeatElement(0x30, count: width - digits)) }
        int(value)
    }

    private static let hexLower: [UInt8] = Array("0123456789abcdef".utf8)
    private static let hexUpper: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// Appends a GUID in `8-4-4-4-12` form (or 32 digits without dashes).
    mutating func guid(_ g: GeneratorGUID, upper: Bool = false, dashes: Bool = true) {
        let table = upper ? Self.hexUpper : Self.hexLower
        for i in 0..<16 {
            if dashes, i == 4 || i == 6 || i == 8 || i == 10 { byte(0x2D) }
            let word = i < 8 ? g.hi : g.lo
            let shift = UInt64((7 - i % 8) * 8)
            let b = Int((word >> shift) & 0xFF)
            byte(table[b >> 4])
            byte(table[b & 0xF])
        }
    }

    /// Appends an ISO 8601 UTC time with 7 fractional digits (`2026-09-01T00:00:00.1234567Z`)
    /// from 100-ns ticks since the Unix epoch.
    mutating func isoTicks(_ unixTicks: Int64) {
        let perDay: Int64 = 864_000_000_000
        var days = unixTicks / perDay
        var rem = unixTicks % perDay
        if rem < 0 { rem += perDay; days -= 1 }
        let (y, m, d) = Timestamp.civilFromDays(days)
        let secs = rem / 10_000_000
        padded(y, width: 4)
        byte(0x2D)
        padded(m, width: 2)
        byte(0x2D)
        padded(d, width: 2)
        byte(0x54)
        padded(secs / 3600, width: 2)
        byte(0x3A)
        padded(secs / 60 % 60, width: 2)
        byte(0x3A)
        padded(secs % 60, width: 2)
        byte(0x2E)
        padded(rem % 10_000_000, width: 7)
        byte(0x5A)
    }

    /// The ISO text of `unixTicks` (7 fractional digits) as a String, for values reused many times.
    static func isoText(_ unixTicks: Int64) -> String {
        var b = GeneratorBuffer(capacity: 28)
        b.isoTicks(unixTicks)
        return String(decoding: b.bytes, as: UTF8.self)
    }
}

/// Writes generator output files, creating directories as needed, and counts what it wrote.
struct GeneratorFileWriter {
    private(set) var files = 0
    private(set) var bytes: Int64 = 0
    private var madeDirectories: Set<String> = []

    /// Writes `buffer` to `path` (replacing any file there), creating parent directories.
    mutating func write(_ buffer: GeneratorBuffer, to path: String) throws(GeneratorError) {
        if let slash = path.utf8.lastIndex(of: 0x2F) {
            try makeDirectories(String(path[..<slash]))
        }
        guard let file = fopen(path, "wb") else { throw .cannotWrite(path: path, errno: errno) }
        let written = buffer.bytes.withUnsafeBytes { raw -> Int in
            guard let base = raw.baseAddress, raw.count > 0 else { return 0 }
            return fwrite(base, 1, raw.count, file)
        }
        let writeErrno = errno
        let closed = fclose(file)
        if written != buffer.count { throw .cannotWrite(path: path, errno: writeErrno) }
        if closed != 0 { throw .cannotWrite(path: path, errno: errno) }
        files += 1
        bytes += Int64(buffer.count)
    }

    /// `mkdir -p`.
    mutating func makeDirectories(_ directory: String) throws(GeneratorError) {
        if directory.isEmpty || madeDirectories.contains(directory) { return }
        var prefix = ""
        for part in directory.split(separator: "/", omittingEmptySubsequences: false) {
            if prefix.isEmpty, part.isEmpty { prefix = "/"; continue }
            prefix += prefix.isEmpty || prefix == "/" ? String(part) : "/" + part
            if part.isEmpty || madeDirectories.contains(prefix) { continue }
            if mkdir(prefix, 0o755) != 0 {
                let code = errno
                var info = stat()
                guard code == EEXIST, stat(prefix, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
                    throw .cannotCreateDirectory(path: prefix, errno: code)
                }
            }
            madeDirectories.insert(prefix)
        }
    }
}
