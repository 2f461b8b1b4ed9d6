import AuditCollect
import AuditCore
import AuditCorrelate
import AuditStore
import AuditTestSupport
import Foundation
import Testing

/// Loads a scenario folder (scenario-1's layout: activity/, diagnostics/, status/, repos.tar.gz
/// or repos/, truth.json), correlates it, and scores the result against its truth.
struct ScenarioTruth {
    struct Planted {
        var kind: String
        var resource: String
        var startUs: Int64
        var evidence: [String]
    }

    struct Score: CustomStringConvertible {
        var planted = 0
        var found = 0
        var rightKind = 0
        var rightEvidence = 0
        var spurious: [String] = []
        var misses: [String] = []

        var description: String {
            "planted \(planted), found \(found), right kind \(rightKind), right evidence \(rightEvidence), spurious \(spurious.count)"
                + (misses.isEmpty ? "" : "\n  misses: " + misses.joined(separator: "\n  "))
                + (spurious.isEmpty ? "" : "\n  spurious: " + spurious.joined(separator: "\n  "))
        }
    }

    let planted: [Planted]
    let windowStart: Int64
    let windowEnd: Int64

    init(folder: URL) throws {
        let truth = try JSONParser.parse(Array(try Data(contentsOf: folder.appendingPathComponent("truth.json"))))
        windowStart = Timestamp.parse(truth["start"]?.text ?? "") ?? 0
        windowEnd = Timestamp.parse(truth["end"]?.text ?? "") ?? 0
        planted = (truth["bursts"]?.arrayValue ?? []).map { b in
            Planted(kind: b["kind"]?.text ?? "", resource: ResourceID.canonical(b["resource_id"]?.text ?? ""),
                    startUs: Timestamp.parse(b["start"]?.text ?? "") ?? 0, evidence: (b["evidence"]?.arrayValue ?? []).compactMap(\.text))
        }
    }

    /// Imports everything the scenario holds (extracting repos.tar.gz when present).
    static func load(folder: URL, into db: Database) throws {
        var paths = ["activity", "diagnostics", "status"].map { folder.appendingPathComponent($0).path }
            .filter { FileManager.default.fileExists(atPath: $0) }
        let repos = folder.appendingPathComponent("repos")
        if FileManager.default.fileExists(atPath: repos.path) {
            paths.append(repos.path)
        } else if FileManager.default.fileExists(atPath: folder.appendingPathComponent("repos.tar.gz").path) {
            let dir = TestSupport.makeTempDirectory("repos")
            _ = try TestSupport.run("/bin/sh", ["-c", "tar -xzf '\(folder.appendingPathComponent("repos.tar.gz").path)' -C '\(dir.path)'"])
            paths.append(dir.appendingPathComponent("repos").path)
        }
        let summary = try Importer(database: db, options: ImportOptions()).run(paths: paths)
        #expect(summary.failedFiles.isEmpty, "\(summary.failedFiles.map { $0.error ?? "" })")
    }

    func score(_ report: CorrelationReport, toleranceUs: Int64 = 10 * Timestamp.microsPerMinute) -> Score {
        var s = Score()
        s.planted = planted.count
        var used = Set<Int>()
        for p in planted {
            let match = report.bursts.indices.filter { !used.contains($0) && report.bursts[$0].resourceID == p.resource && abs(report.bursts[$0].startUs - p.startUs) <= toleranceUs }
                .min { abs(report.bursts[$0].startUs - p.startUs) < abs(report.bursts[$1].startUs - p.startUs) }
            guard let i = match else {
                s.misses.append("\(p.kind) on \(ResourceID(p.resource).shortName) at \(Timestamp.isoSeconds(p.startUs)): not found")
                continue
            }
            used.insert(i)
            s.found += 1
            let b = report.bursts[i]
            let top = b.topCause
            if top?.kind.rawValue == p.kind {
                s.rightKind += 1
                let ids = Set(top?.evidence.map(\.sourceID) ?? [])
                if p.evidence.allSatisfy(ids.contains) { s.rightEvidence += 1 } else {
                    s.misses.append("\(p.kind) on \(ResourceID(p.resource).shortName): evidence \(ids) ≠ \(p.evidence)")
                }
            } else {
                s.misses.append("\(p.kind) on \(ResourceID(p.resource).shortName) at \(Timestamp.isoSeconds(p.startUs)): found \(top?.kind.rawValue ?? "nothing") (\(top?.explanation ?? ""))")
            }
        }
        // A burst that matches no planted one is spurious, unless it belongs to the fleet of a
        // matched burst (a fleet event is one planted burst on several resources).
        let matchedFleets = Set(used.compactMap { report.bursts[$0].fleetID })
        for (i, b) in report.bursts.enumerated() where !used.contains(i) {
            if let f = b.fleetID, matchedFleets.contains(f) { continue }
            s.spurious.append("\(ResourceID(b.resourceID).shortName) at \(Timestamp.isoSeconds(b.startUs)) (\(b.failures) failures, \(b.topCause?.kind.rawValue ?? "-"))")
        }
        return s
    }
}
