import AuditCore
import Foundation

/// One Activity Log event in its REST shape, with the fields `$filter` looks at.
struct SimActivityEvent: Sendable {
    var subscription: String
    var time: Int64
    /// Load order; breaks ties of `time` (and is the paging cursor's second half).
    var sequence: Int
    var object: JSONObject
    var text: String
    /// Lower-cased filter fields.
    var resourceID: String
    var resourceGroup: String
    var resourceProvider: String
    var correlationID: String
    var caller: String
    var status: String
    var level: String
}

/// A parsed OData `$filter`: clauses joined by `and`.
enum SimODataClause: Equatable {
    /// `field op value` (`value` unquoted).
    case compare(field: String, op: String, value: String)
    /// `name(arg, …)`.
    case call(name: String, arguments: [String])
}

/// The Activity Log list API (formats.md §1.1–§1.4): `$filter` as real clients write it
/// (quoted or unquoted times, with or without `Z`, dates alone, `ge`/`gt`/`le`/`lt`, extra
/// clauses), the 90-day retention, `$select`, newest-first pages with an absolute `nextLink`,
/// and the 403 of a subscription the caller may not read.
extension SimAzureState {
    static let activityRetention = 90 * Timestamp.microsPerDay

    /// Adds one REST-shape event; nil when it has no parsable `eventTimestamp`.
    @discardableResult
    mutating func addActivity(_ value: JSONValue) -> Bool {
        guard case .object(let o) = value, let time = o["eventTimestamp"]?.text.flatMap(Timestamp.parse) else { return false }
        var subscription = o["subscriptionId"]?.nonEmptyText?.lowercased()
        let resourceID = (o["resourceId"]?.text ?? "").lowercased()
        if subscription == nil { subscription = ResourceID(resourceID).subscription }
        activitySequence += 1
        let event = SimActivityEvent(
            subscription: subscription ?? "", time: time, sequence: activitySequence, object: o, text: value.serialized,
            resourceID: resourceID, resourceGroup: (o["resourceGroupName"]?.text ?? "").lowercased(),
            resourceProvider: (o["resourceProviderName"]?.localizedValue ?? "").lowercased(),
            correlationID: (o["correlationId"]?.text ?? "").lowercased(), caller: (o["caller"]?.text ?? "").lowercased(),
            status: (o["status"]?.localizedValue ?? "").lowercased(), level: (o["level"]?.text ?? "").lowercased())
        // Newest first; among equal times, load order.
        let index = activity.firstIndex { $0.time < time } ?? activity.count
        activity.insert(event, at: index)
        if let rid = o["resourceId"]?.text, !rid.isEmpty { knownIDs[rid.lowercased()] = knownIDs[rid.lowercased()] ?? rid }
        return true
    }

    mutating func handleActivity(_ request: SimRequest) -> SimResponse {
        guard request.method == "GET" else {
            return armError(405, "MethodNotAllowed", "The requested resource does not support http method '\(request.method)'.")
        }
        if let bad = checkAPIVersion(request, supported: ["2015-04-01"], type: "eventtypes") { return bad }
        let segments = request.path.split(separator: "/")
        // /subscriptions/{sub}/providers/... ; the tenant-level form has no subscription.
        let subscription = segments.count > 1 && segments[0].lowercased() == "subscriptions" ? segments[1].lowercased() : nil
        let token: SimToken
        switch armAuthenticate(request) {
        case .success(let t): token = t
        case .failure(let f): return armUnauthorized(f, allowed: Self.armAudiences)
        }
        let scope = subscription.map { "/subscriptions/\($0)" } ?? "/"
        if let subscription, options.activityForbidden.contains(where: { $0.lowercased() == subscription }) {
            return armError(
                403, "AuthorizationFailed",
                "The client '\(token.objectID)' with object id '\(token.objectID)' does not have authorization to perform action 'Microsoft.Insights/eventtypes/values/read' over scope '\(scope)' or the scope is invalid. If access was recently granted, please refresh your credentials."
            )
        }

        guard let filterText = SimFormat.query(request, "$filter"), !filterText.trimmingSpaces.isEmpty else {
            return armError(
                400, "BadRequest", "$filter searching parameters invalid. The $filter parameter is required and must contain 'eventTimestamp ge'.")
        }
        guard let clauses = Self.parseFilter(filterText) else {
            return armError(400, "BadRequest", "$filter searching parameters invalid. Could not parse '\(filterText)'.")
        }
        var from: Int64?
        var fromInclusive = true
        var to = now
        var toInclusive = true
        var matchers: [(SimActivityEvent) -> Bool] = []
        for clause in clauses {
            guard case .compare(let field, let op, let value) = clause else {
                return armError(400, "BadRequest", "$filter searching parameters invalid. Functions are not supported in this filter.")
            }
            let f = field.lowercased()
            let v = value.lowercased()
            switch (f, op) {
            case ("eventtimestamp", "ge"), ("eventtimestamp", "gt"):
                guard let t = Timestamp.parse(value) else {
                    return armError(400, "BadRequest", "$filter searching parameters invalid. '\(value)' is not a valid time.")
                }
                from = t
                fromInclusive = op == "ge"
            case ("eventtimestamp", "le"), ("eventtimestamp", "lt"):
                guard let t = Timestamp.parse(value) else {
                    return armError(400, "BadRequest", "$filter searching parameters invalid. '\(value)' is not a valid time.")
                }
                to = t
                toInclusive = op == "le"
            case ("resourcegroupname", "eq"): matchers.append { $0.resourceGroup == v }
            case ("resourceid", "eq"), ("resourceuri", "eq"):
                let id = ResourceID.canonical(v)
                matchers.append { $0.resourceID == id || $0.resourceID.hasPrefix(id + "/") }
            case ("resourceprovider", "eq"): matchers.append { $0.resourceProvider == v }
            case ("correlationid", "eq"): matchers.append { $0.correlationID == v }
            case ("caller", "eq"): matchers.append { $0.caller == v }
            case ("status", "eq"): matchers.append { $0.status == v }
            case ("levels", "eq"):
                let levels = Set(v.split(separator: ",").map { $0.trimmingSpaces })
                matchers.append { levels.contains($0.level) }
            case ("eventchannels", "eq"), ("subscriptionid", "eq"):
                continue  // every event here is in the subscription and on a requested channel
            default:
                return armError(
                    400, "BadRequest", "$filter searching parameters invalid. The clause '\(field) \(op)' is not supported.")
            }
        }
        guard let from else {
            return armError(
                400, "BadRequest", "$filter searching parameters invalid. The $filter parameter must contain 'eventTimestamp ge'.")
        }
        if from < now - Self.activityRetention {
            return armError(
                400, "BadRequest",
                "The start time '\(SimFormat.iso7(from))' of the query is older than the 90 days the Activity Log keeps. Use a start time after '\(SimFormat.iso7(now - Self.activityRetention))'.")
        }
        if to < from {
            return armError(400, "BadRequest", "$filter searching parameters invalid. The end time is before the start time.")
        }
        var select: [String]?
        if let s = SimFormat.query(request, "$select"), !s.trimmingSpaces.isEmpty {
            select = s.split(separator: ",").map { $0.trimmingSpaces.lowercased() }.filter { !$0.isEmpty }
        }

        // The cursor: the (time, sequence) of the last event already returned.
        var cursor: (time: Int64, sequence: Int)?
        if let token = SimFormat.query(request, "$skiptoken") {
            guard let c = Self.decodeCursor(token) else {
                return armError(400, "BadRequest", "The skip token '\(token)' is not valid.")
            }
            cursor = c
        }
        let size = max(1, options.pageSize)
        var page: [String] = []
        var last: SimActivityEvent?
        var more = false
        for e in activity {
            if let subscription, e.subscription != subscription { continue }
            if e.time < from || (!fromInclusive && e.time == from) || e.time > to || (!toInclusive && e.time == to) { continue }
            if let c = cursor, e.time > c.time || (e.time == c.time && e.sequence <= c.sequence) { continue }
            if !matchers.allSatisfy({ $0(e) }) { continue }
            if page.count == size {
                more = true
                break
            }
            if let select {
                page.append(JSONValue.object(JSONObject(e.object.members.filter { select.contains($0.key.lowercased()) })).serialized)
            } else {
                page.append(e.text)
            }
            last = e
        }
        var body = #"{"value":["# + page.joined(separator: ",") + "]"
        if more, let last {
            body += #","nextLink":"# + SimFormat.json(nextLink(request, skipToken: Self.encodeCursor(last.time, last.sequence)))
        }
        return SimResponse.json(200, body + "}")
    }

    static func encodeCursor(_ time: Int64, _ sequence: Int) -> String {
        SimFormat.base64url(Array("t:\(time):s:\(sequence)".utf8))
    }

    static func decodeCursor(_ token: String) -> (time: Int64, sequence: Int)? {
        guard let bytes = SimFormat.base64urlDecode(token) else { return nil }
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: ":")
        guard parts.count == 4, parts[0] == "t", parts[2] == "s", let t = Int64(parts[1]), let s = Int(parts[3]) else { return nil }
        return (t, s)
    }

    // MARK: - $filter

    /// Parses an OData filter of `and`-joined clauses: `field op value` (value quoted with `'…'`
    /// or bare) and `name(args)`. nil when it is not that.
    static func parseFilter(_ text: String) -> [SimODataClause]? {
        enum Token: Equatable {
            case word(String), quoted(String), open, close, comma
        }
        var tokens: [Token] = []
        let chars = Array(text.unicodeScalars)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == " " || c == "\t" || c == "\n" || c == "\r" {
                i += 1
            } else if c == "'" {
                var s = ""
                i += 1
                var closed = false
                while i < chars.count {
                    if chars[i] == "'" {
                        if i + 1 < chars.count, chars[i + 1] == "'" {
                            s.unicodeScalars.append("'")
                            i += 2
                            continue
                        }
                        closed = true
                        i += 1
                        break
                    }
                    s.unicodeScalars.append(chars[i])
                    i += 1
                }
                if !closed { return nil }
                tokens.append(.quoted(s))
            } else if c == "(" {
                tokens.append(.open)
                i += 1
            } else if c == ")" {
                tokens.append(.close)
                i += 1
            } else if c == "," {
                tokens.append(.comma)
                i += 1
            } else {
                var s = ""
                while i < chars.count, !" \t\n\r(),'".unicodeScalars.contains(chars[i]) {
                    s.unicodeScalars.append(chars[i])
                    i += 1
                }
                tokens.append(.word(s))
            }
        }
        var clauses: [SimODataClause] = []
        var k = 0
        func value(_ t: Token) -> String? {
            switch t {
            case .word(let s), .quoted(let s): return s
            default: return nil
            }
        }
        while k < tokens.count {
            guard case .word(let name) = tokens[k] else { return nil }
            if k + 1 < tokens.count, tokens[k + 1] == .open {
                var args: [String] = []
                k += 2
                while k < tokens.count, tokens[k] != .close {
                    if tokens[k] == .comma {
                        k += 1
                        continue
                    }
                    guard let v = value(tokens[k]) else { return nil }
                    args.append(v)
                    k += 1
                }
                guard k < tokens.count else { return nil }
                k += 1
                clauses.append(.call(name: name, arguments: args))
            } else {
                guard k + 2 < tokens.count, case .word(let op) = tokens[k + 1], let v = value(tokens[k + 2]) else { return nil }
                let o = op.lowercased()
                guard ["eq", "ne", "ge", "gt", "le", "lt"].contains(o) else { return nil }
                clauses.append(.compare(field: name, op: o, value: v))
                k += 3
            }
            if k < tokens.count {
                guard case .word(let joiner) = tokens[k], joiner.lowercased() == "and" else { return nil }
                k += 1
                if k == tokens.count { return nil }
            }
        }
        return clauses.isEmpty ? nil : clauses
    }
}

// MARK: - Public API

extension SimAzure {
    /// Adds Activity Log events (REST shape, one JSON object per string); later list calls
    /// return them.
    ///
    /// - Returns: how many were added.
    /// - Throws: `SimAzureError.badJSON` when one does not parse or has no `eventTimestamp`
    ///   (none are added then).
    @discardableResult
    public func addActivityEvents(_ jsonObjects: [String]) throws(SimAzureError) -> Int {
        var values: [JSONValue] = []
        for text in jsonObjects {
            guard let v = try? JSONParser.parse(text), v["eventTimestamp"]?.text.flatMap(Timestamp.parse) != nil else {
                throw .badJSON("an Activity Log event must be a JSON object with an eventTimestamp: \(text.prefix(120))")
            }
            values.append(v)
        }
        return locked { s in values.reduce(0) { $0 + (s.addActivity($1) ? 1 : 0) } }
    }

    /// Activity Log events of one subscription (all of them, any time).
    public func activityEventCount(subscription: String) -> Int {
        locked { s in s.activity.reduce(0) { $0 + ($1.subscription == subscription.lowercased() ? 1 : 0) } }
    }
}
