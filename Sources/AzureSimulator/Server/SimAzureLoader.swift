import AuditCore
import Foundation

/// Loading a scenario folder in `PlantedScenario`'s layout into the simulator's state.
extension SimAzureState {
    mutating func load(scenario directory: String) throws(SimAzureError) {
        var root = directory
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .badScenario(path: root, reason: "no such folder")
        }
        var newest: Int64?

        // truth.json: the window's end and the accounts' original-case ids.
        let truthPath = root + "/truth.json"
        if FileManager.default.fileExists(atPath: truthPath) {
            let bytes = try Self.readAll(truthPath)
            guard let truth = try? JSONParser.parse(bytes) else { throw .badScenario(path: truthPath, reason: "not JSON") }
            scenarioEnd = truth["end"]?.text.flatMap(Timestamp.parse)
            for id in truth["accounts"]?.arrayValue?.compactMap(\.text) ?? [] { knownIDs[ResourceID.canonical(id)] = id }
        }

        // Activity Log: REST pages, then the export blobs (split per subscription).
        let activityDir = root + "/activity"
        for name in Self.files(activityDir) where name.hasPrefix("rest-page-") && name.hasSuffix(".json") {
            let path = activityDir + "/" + name
            guard let page = try? JSONParser.parse(try Self.readAll(path)), let events = page["value"]?.arrayValue else {
                throw .badScenario(path: path, reason: "not an ARM page ({\"value\":[…]})")
            }
            for e in events where addActivity(e) {
                if let t = e["eventTimestamp"]?.text.flatMap(Timestamp.parse) { newest = max(newest ?? t, t) }
            }
        }
        for name in Self.files(activityDir) where name.hasPrefix("PT1H-") && (name.hasSuffix(".json") || name.hasSuffix(".json.gz")) {
            let path = activityDir + "/" + name
            guard let hour = Self.hourStamp(name) else { continue }
            let bytes = try Self.readAll(path)
            var bySubscription: [String: [UInt8]] = [:]
            var order: [String] = []
            Self.forEachLine(bytes) { line, value in
                guard let id = value?["resourceId"]?.text, let sub = ResourceID(id).subscription else { return }
                if bySubscription[sub] == nil { order.append(sub) }
                bySubscription[sub, default: []] += line + [0x0A]
            }
            for sub in order {
                _ = putBlob(
                    container: Self.activityContainer,
                    name: "resourceId=/SUBSCRIPTIONS/\(sub.uppercased())/\(Self.hourPath(hour))", bytes: bySubscription[sub] ?? [],
                    created: hour.start, modified: hour.start + Timestamp.microsPerHour - Timestamp.microsPerSecond,
                    blocks: bySubscription[sub].map { $0.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } })
            }
        }

        // Azure OpenAI RequestResponse records: blobs, Log Analytics rows, the estate.
        let diagnosticsDir = root + "/diagnostics"
        for account in Self.files(diagnosticsDir) {
            let dir = diagnosticsDir + "/" + account
            for name in Self.files(dir) where name.hasPrefix("PT1H-") && (name.hasSuffix(".json") || name.hasSuffix(".json.gz")) {
                let path = dir + "/" + name
                guard let hour = Self.hourStamp(name) else { continue }
                let bytes = try Self.readAll(path)
                var resourceID: String?
                var lines = 0
                Self.forEachLine(bytes) { _, value in
                    lines += 1
                    guard let value, let record = diagnosticRecord(value, ingestion: nil) else { return }
                    resourceID = resourceID ?? record.resourceID
                    newest = max(newest ?? record.time, record.time)
                    diagnostics.append(record)
                    discoverAccount(from: record)
                }
                guard let resourceID else { continue }
                _ = putBlob(
                    container: Self.requestResponseContainer, name: "resourceId=\(resourceID.uppercased())/\(Self.hourPath(hour))", bytes: bytes,
                    created: hour.start, modified: hour.start + Timestamp.microsPerHour - Timestamp.microsPerSecond, blocks: lines)
            }
        }

        // Status feeds.
        let statusDir = root + "/status"
        for name in Self.files(statusDir) {
            setFeed(name, bytes: try Self.readAll(statusDir + "/" + name))
        }

        if scenarioEnd == nil, let newest {
            scenarioEnd = (newest / Timestamp.microsPerHour + 1) * Timestamp.microsPerHour
        }
    }

    /// Re-stamps what was loaded before the clock was set (feeds' `Last-Modified`).
    mutating func stampLoadedFeeds() {
        let t = now / Timestamp.microsPerSecond * Timestamp.microsPerSecond
        for key in feeds.keys { feeds[key]?.modified = t }
    }

    // MARK: - Files

    /// Names in a folder, sorted; empty when it is missing.
    static func files(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    /// A whole file, gunzipped when it is gzip (AuditCore's reader detects it).
    static func readAll(_ path: String) throws(SimAzureError) -> [UInt8] {
        do {
            let reader = try ChunkReader(path: path)
            var out: [UInt8] = []
            while let chunk = try reader.next() { out += chunk }
            return out
        } catch {
            throw .badScenario(path: path, reason: error.description)
        }
    }

    /// Calls `body` with each non-blank line (without its newline) and its JSON, when it parses.
    static func forEachLine(_ bytes: [UInt8], _ body: ([UInt8], JSONValue?) -> Void) {
        bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            while start < buffer.count {
                var end = start
                while end < buffer.count, buffer[end] != 0x0A { end += 1 }
                var last = end
                while last > start, buffer[last - 1] == 0x0D || buffer[last - 1] == 0x20 { last -= 1 }
                if last > start {
                    let slice = UnsafeBufferPointer(rebasing: buffer[start..<last])
                    body(Array(slice), try? JSONParser.parse(slice))
                }
                start = end + 1
            }
        }
    }

    /// The hour of `PT1H-YYYYMMDDHH.json[.gz]`.
    static func hourStamp(_ name: String) -> (start: Int64, text: [Substring])? {
        let digits = name.dropFirst(5).prefix(10)
        guard digits.count == 10, digits.allSatisfy(\.isNumber), let y = Int64(digits.prefix(4)),
            let m = Int64(digits.dropFirst(4).prefix(2)), let d = Int64(digits.dropFirst(6).prefix(2)), let h = Int64(digits.dropFirst(8)),
            let start = Timestamp.make(year: y, month: m, day: d, hour: h)
        else { return nil }
        return (start, [digits.prefix(4), digits.dropFirst(4).prefix(2), digits.dropFirst(6).prefix(2), digits.dropFirst(8)])
    }

    /// `y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json`.
    static func hourPath(_ hour: (start: Int64, text: [Substring])) -> String {
        "y=\(hour.text[0])/m=\(hour.text[1])/d=\(hour.text[2])/h=\(hour.text[3])/m=00/PT1H.json"
    }
}
