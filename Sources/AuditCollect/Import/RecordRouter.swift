import AuditCore

/// What `import --kind` accepts (contracts.md).
public enum ImportKind: String, CaseIterable, Sendable {
    case activityLog = "activity-log"
    case diagnostics
    case logAnalytics = "log-analytics"
    case statusFeed = "status-feed"
    case sdkVersions = "sdk-versions"
    case keyvaultAudit = "keyvault-audit"
}

/// Decides, record by record, which normalizer understands a JSON object, so mixed files
/// (an Event Hub capture with several categories) load correctly and unknown records are
/// quarantined with a reason instead of being guessed at.
struct RecordRouter: Sendable {
    let forced: ImportKind?
    /// File path (or source name) used in quarantine locations.
    let location: String

    func allows(_ kind: ImportKind) -> Bool { forced == nil || forced == kind }

    /// Normalizes one record into `batch` (or quarantines it).
    func route(_ bytes: [UInt8], line: Int, offset: Int64, into batch: inout RecordBatch) {
        batch.read += 1
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            quarantine(bytes, line: line, offset: offset, reason: "malformed JSON: \(error.reason) at byte \(error.offset)", into: &batch)
            return
        }
        route(value, bytes: bytes, line: line, offset: offset, into: &batch)
    }

    func route(_ value: JSONValue, bytes: [UInt8]?, line: Int, offset: Int64, into batch: inout RecordBatch) {
        guard case .object(let o) = value else {
            quarantine(bytes ?? Array(value.serialized.utf8), line: line, offset: offset, reason: "expected a JSON object, found \(Self.typeName(value))", into: &batch)
            return
        }
        var rejection: String?
        func reject(_ reason: String) { rejection = reason }
        defer {
            if let rejection { quarantine(bytes ?? Array(value.serialized.utf8), line: line, offset: offset, reason: rejection, into: &batch) }
        }
        // A whole document on one line: an Event Hub message body, an ARM page, a Log Analytics
        // response or a Statuspage JSON.
        if routeWrapper(o, bytes: bytes, line: line, offset: offset, into: &batch) { return }
        func wrongKind(_ detected: ImportKind) { reject("not a \(forced?.rawValue ?? "") record (it looks like \(detected.rawValue)); drop --kind or pick another") }

        // The request check comes first: it is the hot path (millions of records).
        if DiagnosticsNormalizer.isRequestRecord(o) {
            guard allows(.diagnostics) else { return wrongKind(.diagnostics) }
            do { batch.requests.append(try DiagnosticsNormalizer.request(o)) } catch { reject(error.reason) }
        } else if ActivityNormalizer.looksLikeREST(o) {
            guard allows(.activityLog) else { return wrongKind(.activityLog) }
            activity(o, shape: .rest, reject: reject, into: &batch)
        } else if DiagnosticsNormalizer.isAuditRecord(o) {
            guard allows(.diagnostics) else { return wrongKind(.diagnostics) }
            do { batch.changes.append(try DiagnosticsNormalizer.audit(o)) } catch { reject(error.reason) }
        } else if KeyVaultNormalizer.isAuditEvent(o) {
            guard allows(.keyvaultAudit) else { return wrongKind(.keyvaultAudit) }
            do {
                if let c = try KeyVaultNormalizer.change(auditEvent: o) { batch.changes.append(c) } else { batch.skipped += 1 }
            } catch { reject(error.reason) }
        } else if KeyVaultNormalizer.isEventGrid(o) {
            guard allows(.keyvaultAudit) else { return wrongKind(.keyvaultAudit) }
            do {
                if let c = try KeyVaultNormalizer.change(eventGrid: o) { batch.changes.append(c) } else { batch.skipped += 1 }
            } catch { reject(error.reason) }
        } else if ActivityNormalizer.looksLikeExport(o) {
            guard allows(.activityLog) else { return wrongKind(.activityLog) }
            activity(o, shape: .export, reject: reject, into: &batch)
        } else {
            let category = o["category"]?.localizedValue.map { "category '\($0)'" } ?? "no category"
            let keys = o.keys.prefix(6).joined(separator: ", ")
            reject("unrecognized record shape (\(category); keys: \(keys)\(o.members.count > 6 ? ", …" : ""))")
        }
    }

    /// Handles wrapper documents; false when `o` is a plain record.
    func routeWrapper(_ o: JSONObject, bytes: [UInt8]?, line: Int, offset: Int64, into batch: inout RecordBatch) -> Bool {
        // Wrappers have a handful of members; records have many (and this runs per record).
        guard o.members.count <= 8 else { return false }
        if let tables = o["tables"], tables.arrayValue != nil, o["eventTimestamp"] == nil, o["time"] == nil {
            batch.read -= 1  // rows are counted, not the wrapper
            routeTables(tables, line: line, into: &batch)
            if let err = o["error"]?.objectValue { partialError(err, line: line, into: &batch) }
            return true
        }
        if o["incidents"]?.arrayValue != nil || (o["page"]?.objectValue != nil && o["status"] != nil) {
            batch.read -= 1
            guard allows(.statusFeed) else {
                quarantine(bytes ?? [], line: line, offset: offset, reason: "a Statuspage document is not a \(forced?.rawValue ?? "") record", into: &batch)
                batch.read += 1
                return true
            }
            let doc = bytes ?? Array(JSONValue.object(o).serialized.utf8)
            if let result = StatusFeedParser.parse(doc, source: location) {
                batch.read += result.incidents.count + result.quarantine.count
                batch.incidents += result.incidents
                batch.quarantine += result.quarantine
            }
            return true
        }
        for key in ["records", "value"] {
            if let items = o[key]?.arrayValue, o["eventTimestamp"] == nil, o["operationName"] == nil {
                batch.read -= 1
                for item in items { batch.read += 1; route(item, bytes: nil, line: line, offset: offset, into: &batch) }
                return true
            }
        }
        return false
    }

    /// A Log Analytics 200 response that carries an error next to its tables: the data is
    /// incomplete, which the user must know.
    func partialError(_ err: JSONObject, line: Int?, into batch: inout RecordBatch) {
        let code = err["code"]?.text ?? "error"
        let message = err["message"]?.text ?? ""
        batch.quarantine.append(QuarantineEntry(source: location, line: line, byteOffset: nil, reason: "Log Analytics returned a partial result (\(code): \(message)); some rows are missing", excerpt: Redactor.redact(JSONValue.object(err).serialized.prefix(200).description)))
    }

    private func activity(_ o: JSONObject, shape: ActivityNormalizer.Shape, reject: (String) -> Void, into batch: inout RecordBatch) {
        do {
            let (e, changes, incidents) = try ActivityNormalizer.normalize(o, shape: shape)
            batch.activity.append(e)
            batch.changes += changes
            batch.incidents += incidents
        } catch {
            reject(error.reason)
        }
    }

    /// Rows of a Log Analytics `{"tables":[…]}` response (AzureActivity or AzureDiagnostics).
    func routeTables(_ tables: JSONValue, line: Int, into batch: inout RecordBatch) {
        for table in tables.arrayValue ?? [] {
            let columns = (table["columns"]?.arrayValue ?? []).map { $0["name"]?.text ?? "" }
            let names = Set(columns.map { $0.asciiLowercased })
            let isActivity = names.contains("operationnamevalue") || names.contains("activitystatusvalue") || names.contains("categoryvalue")
            let isDiagnostics = names.contains("resultsignature") || names.contains("properties_s")
            for (i, row) in (table["rows"]?.arrayValue ?? []).enumerated() {
                batch.read += 1
                let cells = row.arrayValue ?? []
                let o = JSONObject(zip(columns, cells).map { (key: $0, value: $1) })
                let location = "table \(table["name"]?.text ?? "?") row \(i + 1)"
                var rejection: String?
                func reject(_ reason: String) { rejection = reason }
                defer {
                    if let rejection {
                        batch.quarantine.append(QuarantineEntry(source: self.location + " (" + location + ")", line: line, byteOffset: nil, reason: rejection, excerpt: excerpt(Array(row.serialized.utf8))))
                    }
                }
                if isActivity {
                    guard allows(.logAnalytics) || allows(.activityLog) else { reject("not a \(forced?.rawValue ?? "") record"); continue }
                    activity(o, shape: .logAnalytics, reject: reject, into: &batch)
                } else if isDiagnostics {
                    guard allows(.logAnalytics) || allows(.diagnostics) else { reject("not a \(forced?.rawValue ?? "") record"); continue }
                    let category = o["Category"]?.text ?? ""
                    if category.isEmpty || DiagnosticsNormalizer.requestCategories.contains(category.asciiLowercased) {
                        do { batch.requests.append(try DiagnosticsNormalizer.request(logAnalyticsRow: o)) } catch { reject(error.reason) }
                    } else {
                        reject("AzureDiagnostics row of category '\(category)' is not an Azure OpenAI request log")
                    }
                } else {
                    reject("unrecognized Log Analytics table (columns: \(columns.prefix(6).joined(separator: ", ")))")
                }
            }
        }
    }

    func quarantine(_ bytes: [UInt8], line: Int?, offset: Int64?, reason: String, into batch: inout RecordBatch) {
        batch.quarantine.append(QuarantineEntry(source: location, line: line, byteOffset: offset, reason: reason, excerpt: excerpt(bytes)))
    }

    func excerpt(_ bytes: [UInt8]) -> String {
        // Redact a generous prefix first, then cut: cutting first could split a secret so that
        // the redactor no longer recognizes it.
        String(Redactor.redact(String(decoding: bytes.prefix(4096), as: UTF8.self)).prefix(200))
    }

    static func typeName(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
