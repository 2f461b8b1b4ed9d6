import AuditCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Loading a scenario folder into the simulator's state: `PlantedScenario`'s layout, and the
/// export layout of `ScenarioGenerator` (`diagnostics/resourceId=/…/PT1H.json`,
/// `activity/resourceId=/…/PT1H.json`, served file-backed), or both.
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
        let index = options.indexDiagnosticsForLogAnalytics
        for account in Self.files(diagnosticsDir) where account != "resourceId=" {
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
                    if index ?? true { diagnostics.append(record) }
                    discoverAccount(from: record)
                }
                guard let resourceID else { continue }
                _ = putBlob(
                    container: Self.requestResponseContainer, name: "resourceId=\(resourceID.uppercased())/\(Self.hourPath(hour))", bytes: bytes,
                    created: hour.start, modified: hour.start + Timestamp.microsPerHour - Timestamp.microsPerSecond, blocks: lines)
            }
        }

        // The export layout (`aoai-audit generate` without --planted): blobs named by their path.
        try loadExportLayout(
            diagnosticsDir + "/resourceId=", under: diagnosticsDir, container: Self.requestResponseContainer, index: index ?? false,
            newest: &newest)
        try loadExportLayout(activityDir + "/resourceId=", under: activityDir, container: Self.activityContainer, index: false, newest: &newest)

        // Status feeds.
        let statusDir = root + "/status"
        for name in Self.files(statusDir) {
            setFeed(name, bytes: try Self.readAll(statusDir + "/" + name))
        }

        if scenarioEnd == nil, let newest {
            scenarioEnd = (newest / Timestamp.microsPerHour + 1) * Timestamp.microsPerHour
        }
    }

    /// Serves every `PT1H.json` under `dir` (a `…/resourceId=` folder of the export layout) as
    /// a blob of `container` named by its path under `base`: file-backed (only name, size,
    /// ETag and times are kept; Get Blob reads the requested range from the file). A
    /// `PT1H.json.gz` is gunzipped into memory and named without `.gz`. Creation time is the
    /// hour in the path (`y=/m=/d=/h=`), else the file's modification time.
    ///
    /// Diagnostics blobs (`container` is `insights-logs-requestresponse`) also make the estate:
    /// the first MiB of each resource's first blob is read for its account, deployments and
    /// Entra callers; with `index`, every record is read and becomes a Log Analytics row.
    mutating func loadExportLayout(_ dir: String, under base: String, container: String, index: Bool, newest: inout Int64?) throws(SimAzureError) {
        let isDiagnostics = container == Self.requestResponseContainer
        var sampled: Set<String> = []
        for file in Self.regularFiles(dir) {
            var name = String(file.path.dropFirst(base.count + 1))
            let gzipped = name.hasSuffix(".json.gz")
            guard gzipped || name.hasSuffix(".json") else { continue }
            if gzipped { name.removeLast(3) }
            let hour = Self.pathHour(name)
            if let hour { newest = max(newest ?? hour, hour + Timestamp.microsPerHour - 1) }
            let created = hour ?? file.modified
            let modified = hour.map { $0 + Timestamp.microsPerHour - Timestamp.microsPerSecond } ?? file.modified
            let resource = name.range(of: "/y=").map { String(name[..<$0.lowerBound]) } ?? name
            var content: [UInt8]?
            if gzipped {
                content = try Self.readAll(file.path)
            } else if isDiagnostics && index {
                content = SimFileRead.read(file.path, offset: 0, count: file.size)
                guard content != nil else { throw .badScenario(path: file.path, reason: "unreadable") }
            }
            if isDiagnostics && (index || !sampled.contains(resource)) {
                sampled.insert(resource)
                let bytes = content ?? SimFileRead.read(file.path, offset: 0, count: min(file.size, 1 << 20)) ?? []
                Self.forEachLine(bytes) { _, value in
                    guard let value, let record = diagnosticRecord(value, ingestion: nil) else { return }
                    if index {
                        newest = max(newest ?? record.time, record.time)
                        diagnostics.append(record)
                    }
                    discoverAccount(from: record)
                }
            }
            if gzipped, let content {
                _ = putBlob(container: container, name: name, bytes: content, created: created, modified: modified,
                            blocks: content.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) })
            } else {
                containers[container, default: [:]][name] = SimBlob(
                    bytes: [], etag: newETag(), created: created, modified: modified, blocks: 1, file: (file.path, file.size))
            }
        }
    }

    /// Regular files under `dir` at any depth (hidden names skipped), sorted by path; empty when
    /// `dir` is missing.
    static func regularFiles(_ dir: String) -> [(path: String, size: Int, modified: Int64)] {
        var out: [(path: String, size: Int, modified: Int64)] = []
        var stack = [dir]
        while let current = stack.popLast() {
            guard let handle = opendir(current) else { continue }
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name.hasPrefix(".") { continue }
                let path = current + "/" + name
                // FileManager rather than stat(2): with MemberImportVisibility a clean build
                // resolves `struct stat` to CoreFoundation's module and refuses its members.
                guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { continue }
                switch attributes[.type] as? FileAttributeType {
                case .typeDirectory?: stack.append(path)
                case .typeRegular?:
                    let modified = ((attributes[.modificationDate] as? Date)?.timeIntervalSince1970).map { Int64($0 * 1_000_000) } ?? 0
                    out.append((path, (attributes[.size] as? NSNumber)?.intValue ?? 0, modified))
                default: break
                }
            }
            closedir(handle)
        }
        return out.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    /// The hour of an export-layout path (`…/y=2026/m=09/d=14/h=01/m=00/PT1H.json`), UTC µs.
    static func pathHour(_ name: String) -> Int64? {
        var y: Int64?, mo: Int64?, d: Int64?, h: Int64?
        for part in name.split(separator: "/") {
            guard let eq = part.firstIndex(of: "=") else { continue }
            let value = Int64(part[part.index(after: eq)...])
            switch part[..<eq] {
            case "y": y = value
            case "m": if h == nil { mo = value }
            case "d": d = value
            case "h": h = value
            default: break
            }
        }
        guard let y, let mo, let d, let h else { return nil }
        return Timestamp.make(year: y, month: mo, day: d, hour: h)
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
