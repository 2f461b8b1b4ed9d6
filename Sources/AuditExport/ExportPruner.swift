import AuditCore
import Foundation

/// Retention for a folder of published exports (`--keep 90d`), and cleanup of temp files left
/// by a process that died.
public enum ExportPruner {
    /// Removes every published data file and its manifest whose window ends (`to`) before
    /// `cutoffUs`. Only files with a readable manifest are touched: a data file without one is
    /// either not ours or an interrupted export that the next run completes.
    /// - Returns: the paths removed, data files before their manifests.
    public static func prune(directory: String, olderThanUs cutoffUs: Int64) throws(ExportError) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw .io(path: directory, message: "cannot list the folder")
        }
        var removed: [String] = []
        for name in names.sorted() where name.hasSuffix(ExportNaming.manifestSuffix) && !name.hasPrefix(".") {
            let manifestPath = (directory as NSString).appendingPathComponent(name)
            guard let text = try? String(contentsOfFile: manifestPath, encoding: .utf8), let m = ExportManifest.parse(text),
                  m.file + ExportNaming.manifestSuffix == name, m.windowToUs < cutoffUs else { continue }
            let dataPath = (directory as NSString).appendingPathComponent(m.file)
            // The data file goes first: a crash in between leaves a manifest that the next prune removes.
            if unlink(dataPath) == 0 { removed.append(dataPath) } else if errno != ENOENT {
                throw .io(path: dataPath, message: String(cString: strerror(errno)))
            }
            if unlink(manifestPath) == 0 { removed.append(manifestPath) }
        }
        if !removed.isEmpty { try AtomicFile.syncDirectory(directory) }
        return removed
    }

    /// Removes `.aoai-audit-*.tmp` files whose writing process no longer exists.
    public static func sweepTemporaryFiles(in directory: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names {
            guard let pid = ExportNaming.tempOwner(name) else { continue }
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH {
                unlink((directory as NSString).appendingPathComponent(name))
            }
        }
    }
}
