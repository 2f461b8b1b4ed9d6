import Foundation

/// Builds `repos/<app>/`, one real git repository per app (made with the `git` binary, author
/// and committer dates set), whose `requirements.txt` history holds the SDK pins:
///
/// - an initial commit 30 days before the window;
/// - for some apps an old `openai` bump days before the window (a decoy: no failures follow);
/// - for some apps, inside the window at a quiet time, a bump of another package or an `openai`
///   patch release that keeps the api-version (decoys);
/// - the planted `sdk_bump`: `openai` old → new at the burst's cause, and, when the burst is
///   undone, a commit pinning it back shortly before the failures stop.
///
/// Commit ids depend only on contents, names and dates, so the same seed gives the same ids.
struct PlantedRepos {
    let plan: PlantedPlan
    let seed: UInt64

    private struct Commit {
        var time: Int64
        var message: String
        var author: (name: String, email: String)
        /// Pins this commit changes (package, version); applied in time order.
        var changes: [(String, String)]
        /// `bursts` index of the planted bump this commit is, if it is one.
        var burst: Int?
    }

    static let authors: [(name: String, email: String)] = [
        ("dev", "dev@contoso.com"), ("Priya Raman", "priya.raman@contoso.com"), ("Jonas Berg", "jonas.berg@contoso.com"),
        ("renovate[bot]", "bot@renovateapp.com"),
    ]

    /// Writes every app's repository; returns the commit id of each planted `sdk_bump`, by burst index.
    func write(root: String) throws(PlantedError) -> [Int: String] {
        var rng = GeneratorRandom(seed: seed, stream: 15)
        var evidence: [Int: String] = [:]
        let estate = plan.estate
        let base = root + "/repos"
        try? FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        for (index, app) in estate.apps.enumerated() {
            var pins: [(String, String)] = [
                ("fastapi", "0.115.0"), ("openai", app.previousOpenAI ?? app.openai), ("azure-identity", "1.17.1"), ("httpx", "0.27.2"),
            ]
            var commits: [Commit] = [
                Commit(time: plan.windowStart - 30 * PlantedTime.day, message: "initial", author: Self.authors[0], changes: [], burst: nil)
            ]
            if app.previousOpenAI != nil {
                let t = plan.windowStart - Int64(2 + rng.int(10)) * PlantedTime.day - rng.int64(PlantedTime.day)
                commits.append(
                    Commit(time: t, message: "bump openai to \(app.openai)", author: rng.pick(Self.authors), changes: [("openai", app.openai)], burst: nil))
            }
            let planted = plan.bursts.indices.filter { plan.bursts[$0].kind == .sdkBump && plan.bursts[$0].app == index }
            if rng.chance(0.5), let t = quietTime(app.account, &rng) {
                let (package, version): (String, String)
                if planted.isEmpty, rng.chance(0.5) {
                    // A patch release of the SDK: same api-version, nothing breaks.
                    (package, version) = ("openai", app.openai.split(separator: ".").prefix(2).joined(separator: ".") + ".\(6 + rng.int(3))")
                } else {
                    (package, version) = rng.pick([("httpx", "0.27.3"), ("fastapi", "0.115.4"), ("azure-identity", "1.19.0")])
                }
                commits.append(
                    Commit(time: t, message: "bump \(package) to \(version)", author: rng.pick(Self.authors), changes: [(package, version)], burst: nil))
            }
            for i in planted {
                let b = plan.bursts[i]
                commits.append(
                    Commit(time: b.cause, message: "bump openai to \(b.newPin)", author: rng.pick(Self.authors), changes: [("openai", b.newPin)], burst: i))
                let back = b.end - Int64(2 + rng.int(4)) * PlantedTime.minute
                if b.undone, back < plan.windowEnd - PlantedTime.minute {
                    commits.append(
                        Commit(time: back, message: "pin openai back to \(b.oldPin)", author: rng.pick(Self.authors),
                               changes: [("openai", b.oldPin)], burst: nil))
                }
            }
            commits.sort { $0.time < $1.time }

            let dir = base + "/" + app.name
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try PlantedShell.run("git", ["-C", dir, "init", "-q", "-b", "main"])
            for c in commits {
                for (package, version) in c.changes { pins = pins.map { $0.0 == package ? ($0.0, version) : $0 } }
                let text = pins.map { "\($0.0)==\($0.1)\n" }.joined()
                do {
                    try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/requirements.txt"))
                } catch {
                    throw .commandFailed(program: "write", arguments: [dir + "/requirements.txt"], message: "\(error)")
                }
                let date = "\(c.time / PlantedTime.second) +0000"
                let env = [
                    "GIT_AUTHOR_NAME": c.author.name, "GIT_AUTHOR_EMAIL": c.author.email, "GIT_AUTHOR_DATE": date,
                    "GIT_COMMITTER_NAME": c.author.name, "GIT_COMMITTER_EMAIL": c.author.email, "GIT_COMMITTER_DATE": date,
                ]
                // The first commit adds the file; later ones commit its changes (`-a`).
                if c.message == "initial" { try PlantedShell.run("git", ["-C", dir, "add", "requirements.txt"]) }
                try PlantedShell.run(
                    "git", ["-C", dir, "-c", "commit.gpgsign=false", "commit", "-q", "-a", "--no-verify", "-m", c.message],
                    environment: env)
                if let burst = c.burst {
                    let id = try PlantedShell.run("git", ["-C", dir, "rev-parse", "HEAD"])
                    evidence[burst] = id.trimmingCharacters(in: .whitespacesAndNewlines)
                }
            }
        }
        return evidence
    }

    /// A time inside the window at which `account` has no burst from 30 minutes before to 4 hours after.
    private func quietTime(_ account: Int, _ rng: inout GeneratorRandom) -> Int64? {
        for _ in 0..<100 {
            let t = plan.windowStart + 10 * PlantedTime.minute + rng.int64(plan.windowEnd - plan.windowStart - 20 * PlantedTime.minute)
            if plan.isQuiet(account: account, at: t, before: 30 * PlantedTime.minute, after: 4 * PlantedTime.hour) { return t }
        }
        return nil
    }
}
