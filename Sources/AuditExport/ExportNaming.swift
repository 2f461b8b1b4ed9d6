import AuditCore
import Foundation

/// File formats of an export.
public enum ExportFormat: String, Sendable, CaseIterable {
    case csv, ndjson
}

/// Compression of an export's data file.
public enum ExportCompression: String, Sendable, CaseIterable {
    case gzip, none
}

/// Names of published files (contracts.md, Exports):
/// `<dataset>_<fromUTC>_<toUTC>[_rN].<csv|ndjson>[.gz]` with times in basic ISO 8601
/// (`20261123T000000Z`), and `<data file name>.manifest.json` beside each data file.
public enum ExportNaming {
    public static let manifestSuffix = ".manifest.json"
    /// Rewritten (replaced in one step) at the end of every export run in which every dataset
    /// succeeded, after all its files and manifests are durable: a batch consumer that waits
    /// for its time to change knows the run's files are complete. Matches no SIEM glob.
    public static let successMarker = "_SUCCESS"
    /// Temp files start with this (dot-prefixed: outside every SIEM glob such as `*.csv.gz`).
    public static let tempPrefix = ".aoai-audit-"
    public static let tempSuffix = ".tmp"

    /// `.csv.gz`, `.csv`, `.ndjson.gz` or `.ndjson`.
    public static func fileExtension(_ format: ExportFormat, _ compression: ExportCompression) -> String {
        "." + format.rawValue + (compression == .gzip ? ".gz" : "")
    }

    /// The data file name for a window; `revision` 1 is the plain name, 2… append `_r2`….
    public static func dataFileName(dataset: String, fromUs: Int64, toUs: Int64, format: ExportFormat, compression: ExportCompression, revision: Int = 1) -> String {
        dataset + "_" + Timestamp.basic(fromUs) + "_" + Timestamp.basic(toUs) + (revision > 1 ? "_r\(revision)" : "") + fileExtension(format, compression)
    }

    /// The first name for the window that neither a data file nor a manifest uses yet in `directory`.
    public static func freeDataFileName(in directory: String, dataset: String, fromUs: Int64, toUs: Int64, format: ExportFormat, compression: ExportCompression) -> String {
        var revision = 1
        while true {
            let name = dataFileName(dataset: dataset, fromUs: fromUs, toUs: toUs, format: format, compression: compression, revision: revision)
            let path = (directory as NSString).appendingPathComponent(name)
            if !FileManager.default.fileExists(atPath: path) && !FileManager.default.fileExists(atPath: path + manifestSuffix) { return name }
            revision += 1
        }
    }

    /// A temp name for `finalName`, unique to this process.
    public static func tempName(for finalName: String, pid: Int32 = getpid()) -> String {
        tempPrefix + finalName + "." + String(pid) + tempSuffix
    }

    /// The process id a temp name was written by, or nil when `name` is not one of our temp names.
    public static func tempOwner(_ name: String) -> Int32? {
        guard name.hasPrefix(tempPrefix), name.hasSuffix(tempSuffix) else { return nil }
        let stem = name.dropLast(tempSuffix.count)
        guard let dot = stem.lastIndex(of: ".") else { return nil }
        return Int32(stem[stem.index(after: dot)...])
    }

    /// The parts of a published data file name, or nil when it is not one.
    public static func parse(_ name: String) -> (dataset: String, fromUs: Int64, toUs: Int64, revision: Int)? {
        guard !name.hasPrefix("."), !name.hasSuffix(manifestSuffix) else { return nil }
        var stem = Substring(name)
        var matched = false
        for f in ExportFormat.allCases {
            for c in ExportCompression.allCases where stem.hasSuffix(fileExtension(f, c)) && !matched {
                stem = stem.dropLast(fileExtension(f, c).count)
                matched = true
            }
        }
        guard matched else { return nil }
        var parts = stem.split(separator: "_", omittingEmptySubsequences: false).map(String.init)
        var revision = 1
        if let last = parts.last, last.hasPrefix("r"), let r = Int(last.dropFirst()), r > 1 {
            revision = r
            parts.removeLast()
        }
        guard parts.count >= 3, let to = parseBasic(parts[parts.count - 1]), let from = parseBasic(parts[parts.count - 2]) else { return nil }
        return (parts.dropLast(2).joined(separator: "_"), from, to, revision)
    }

    /// `20261123T040506Z` → microseconds.
    static func parseBasic(_ s: String) -> Int64? {
        let b = Array(s.utf8)
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z") else { return nil }
        func num(_ r: Range<Int>) -> Int64? { Int64(String(decoding: b[r], as: UTF8.self)) }
        guard let y = num(0..<4), let mo = num(4..<6), let d = num(6..<8), let h = num(9..<11), let mi = num(11..<13), let se = num(13..<15) else { return nil }
        return Timestamp.make(year: y, month: mo, day: d, hour: h, minute: mi, second: se)
    }
}
