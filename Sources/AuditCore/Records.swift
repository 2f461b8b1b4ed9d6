/// The normalized records every collector and importer produces and the store persists.
/// Times are UTC microseconds (`Timestamp`); resource ids are lower-cased ARM ids.

/// One Activity Log event (every category: Administrative, ServiceHealth, ResourceHealth, …).
public struct ActivityEvent: Sendable, Equatable {
    /// Identity shared by the REST and export shapes (contracts.md): correlation id, lower-cased
    /// operation, normalized status and event time.
    public var identityKey: String
    public var eventDataId: String?
    public var timeUs: Int64
    public var submissionUs: Int64?
    public var category: String
    public var operation: String
    public var status: String
    public var subStatus: String?
    public var level: String?
    public var caller: String?
    public var callerIp: String?
    public var correlationId: String?
    public var operationId: String?
    public var resourceId: String
    public var tenantId: String?
    public var httpStatus: Int?
    public var principalId: String?
    public var principalType: String?
    public var role: String?
    public var description: String?
    public var title: String?
    /// "rest", "export" or "log-analytics".
    public var shape: String
    /// The redacted record as JSON text.
    public var raw: String

    public init(identityKey: String, eventDataId: String?, timeUs: Int64, submissionUs: Int64?, category: String, operation: String, status: String, subStatus: String?, level: String?, caller: String?, callerIp: String?, correlationId: String?, operationId: String?, resourceId: String, tenantId: String?, httpStatus: Int?, principalId: String?, principalType: String?, role: String?, description: String?, title: String?, shape: String, raw: String) {
        self.identityKey = identityKey; self.eventDataId = eventDataId; self.timeUs = timeUs; self.submissionUs = submissionUs
        self.category = category; self.operation = operation; self.status = status; self.subStatus = subStatus; self.level = level
        self.caller = caller; self.callerIp = callerIp; self.correlationId = correlationId; self.operationId = operationId
        self.resourceId = resourceId; self.tenantId = tenantId; self.httpStatus = httpStatus; self.principalId = principalId
        self.principalType = principalType; self.role = role; self.description = description; self.title = title
        self.shape = shape; self.raw = raw
    }
}

/// One Azure OpenAI data-plane request as the diagnostic logs record it.
/// Failures (status >= 400) are stored whole; every request also counts in a per-minute rollup.
public struct RequestRecord: Sendable, Equatable {
    public var timeUs: Int64
    public var resourceId: String
    public var category: String
    public var operation: String
    public var status: Int
    public var deployment: String
    public var model: String?
    public var modelVersion: String?
    /// Entra object id for token callers, "" for key callers.
    public var objectId: String
    /// Masked caller IP (`198.51.100.***`).
    public var callerIp: String
    public var apiVersion: String
    public var correlationId: String?
    public var durationMs: Int64?
    public var requestLength: Int64?
    public var responseLength: Int64?
    public var streamType: String?
    public var region: String?
    /// Members not mapped to a column, as redacted JSON (nil when there are none).
    public var extra: String?

    public init(timeUs: Int64, resourceId: String, category: String, operation: String, status: Int, deployment: String, model: String?, modelVersion: String?, objectId: String, callerIp: String, apiVersion: String, correlationId: String?, durationMs: Int64?, requestLength: Int64?, responseLength: Int64?, streamType: String?, region: String?, extra: String?) {
        self.timeUs = timeUs; self.resourceId = resourceId; self.category = category; self.operation = operation; self.status = status
        self.deployment = deployment; self.model = model; self.modelVersion = modelVersion; self.objectId = objectId; self.callerIp = callerIp
        self.apiVersion = apiVersion; self.correlationId = correlationId; self.durationMs = durationMs; self.requestLength = requestLength
        self.responseLength = responseLength; self.streamType = streamType; self.region = region; self.extra = extra
    }

    /// Who called: the Entra object id when present, else the masked IP.
    public var caller: String { objectId.isEmpty ? callerIp : objectId }

    /// A stable 64-bit fingerprint of the normalized record: the same request in any shape
    /// (properties as string or object, storage or Log Analytics) has the same fingerprint.
    public var fingerprint: Int64 {
        var h = StableHash()
        h.combine(timeUs); h.combine(resourceId); h.combine(category); h.combine(operation); h.combine(Int64(status))
        h.combine(correlationId ?? ""); h.combine(callerIp); h.combine(objectId); h.combine(deployment); h.combine(apiVersion)
        h.combine(durationMs ?? -1); h.combine(requestLength ?? -1); h.combine(responseLength ?? -1)
        return h.value
    }
}

/// A change that can break authentication, derived from activity events, Key Vault audit
/// records, lockfile history, diagnostics or a manual mark.
public struct ChangeRecord: Sendable, Equatable {
    /// Stable identity (source + id + kind).
    public var dedupeKey: String
    public var timeUs: Int64
    /// Change kind, e.g. `key_regenerated`, `role_assignment_deleted` (see `ChangeKind`).
    public var kind: String
    public var resourceId: String
    public var actor: String?
    /// Human sentence.
    public var summary: String
    /// Structured detail as JSON text (redacted).
    public var detail: String?
    /// Where it came from: `activity`, `keyvault`, `git`, `diagnostics`, `manual`.
    public var sourceKind: String
    /// eventDataId, correlation id, commit id…
    public var sourceId: String?
    public var correlationId: String?
    public var principalId: String?
    public var app: String?

    public init(dedupeKey: String, timeUs: Int64, kind: String, resourceId: String, actor: String?, summary: String, detail: String?, sourceKind: String, sourceId: String?, correlationId: String?, principalId: String? = nil, app: String? = nil) {
        self.dedupeKey = dedupeKey; self.timeUs = timeUs; self.kind = kind; self.resourceId = resourceId; self.actor = actor
        self.summary = summary; self.detail = detail; self.sourceKind = sourceKind; self.sourceId = sourceId
        self.correlationId = correlationId; self.principalId = principalId; self.app = app
    }
}

/// The vocabulary of derived change kinds.
public enum ChangeKind {
    public static let keyRegenerated = "key_regenerated"
    public static let keyListed = "key_listed"
    public static let localAuthDisabled = "local_auth_disabled"
    public static let localAuthEnabled = "local_auth_enabled"
    public static let accountConfigChange = "account_config_change"
    public static let networkRuleChange = "network_rule_change"
    public static let roleAssignmentCreated = "role_assignment_created"
    public static let roleAssignmentDeleted = "role_assignment_deleted"
    public static let keyvaultSecretSet = "keyvault_secret_set"
    public static let deploymentChange = "deployment_change"
    public static let sdkBump = "sdk_bump"
    public static let apiVersionChange = "api_version_change"
    public static let manual = "manual_change"
}

/// One vendor incident (status feed item or ServiceHealth event); updates share the incident key.
public struct VendorIncident: Sendable, Equatable {
    /// Feed guid/id/tracking id; the same incident across updates.
    public var incidentKey: String
    /// Distinguishes updates of the same incident (content hash or update id).
    public var updateKey: String
    public var provider: String
    public var title: String
    public var status: String?
    public var impact: String?
    public var service: String?
    public var region: String?
    public var startUs: Int64
    public var updatedUs: Int64
    public var resolvedUs: Int64?
    public var url: String?
    public var body: String?

    public init(incidentKey: String, updateKey: String, provider: String, title: String, status: String?, impact: String?, service: String?, region: String?, startUs: Int64, updatedUs: Int64, resolvedUs: Int64?, url: String?, body: String?) {
        self.incidentKey = incidentKey; self.updateKey = updateKey; self.provider = provider; self.title = title; self.status = status
        self.impact = impact; self.service = service; self.region = region; self.startUs = startUs; self.updatedUs = updatedUs
        self.resolvedUs = resolvedUs; self.url = url; self.body = body
    }
}

/// A record that could not be loaded, with where it was and why.
public struct QuarantineEntry: Sendable, Equatable {
    public var source: String
    public var line: Int?
    public var byteOffset: Int64?
    public var reason: String
    /// The first bytes of the record (redacted).
    public var excerpt: String

    public init(source: String, line: Int?, byteOffset: Int64?, reason: String, excerpt: String) {
        self.source = source; self.line = line; self.byteOffset = byteOffset; self.reason = reason; self.excerpt = excerpt
    }
}

/// Everything one batch of input produced.
public struct RecordBatch: Sendable {
    public var activity: [ActivityEvent] = []
    public var requests: [RequestRecord] = []
    public var changes: [ChangeRecord] = []
    public var incidents: [VendorIncident] = []
    public var quarantine: [QuarantineEntry] = []
    /// Records read (good and bad).
    public var read = 0
    /// Records understood but not stored because they change nothing (Key Vault reads, …).
    public var skipped = 0

    public init() {}

    public var isEmpty: Bool { activity.isEmpty && requests.isEmpty && changes.isEmpty && incidents.isEmpty && quarantine.isEmpty }

    public mutating func append(_ other: RecordBatch) {
        activity += other.activity; requests += other.requests; changes += other.changes
        incidents += other.incidents; quarantine += other.quarantine; read += other.read; skipped += other.skipped
    }
}

/// A fixed, seedless 64-bit hash (never Swift's per-process `Hasher`), stable across processes
/// and machines as contracts.md requires for dedupe keys. It mixes eight bytes at a time
/// (multiply–xorshift, constants from SplitMix64/MurmurHash3), which keeps the per-record
/// fingerprint off the import's profile.
public struct StableHash {
    public private(set) var state: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    @inline(__always) static func mix(_ h: UInt64, _ k: UInt64) -> UInt64 {
        var x = (h ^ k) &* 0x9E37_79B9_7F4A_7C15
        x ^= x >> 29
        return x
    }

    public mutating func combine(_ s: String) {
        var s = s
        let h = state
        state = s.withUTF8 { Self.hash(h, $0) }
    }

    static func hash(_ start: UInt64, _ buf: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h = start
        let n = buf.count
        var i = 0
        if let base = buf.baseAddress {
            let raw = UnsafeRawPointer(base)
            while i + 8 <= n {
                h = mix(h, raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                i += 8
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                tail |= UInt64(base[i]) << shift
                shift += 8
                i += 1
            }
            h = mix(h, tail)
        }
        // Length and a separator, so ("ab","c") and ("a","bc") differ.
        return mix(h, UInt64(n) &+ 0xFF00_0000_0000_0000)
    }

    public mutating func combine(_ v: Int64) {
        state = Self.mix(state, UInt64(bitPattern: v) &+ 0x5555_5555_5555_5555)
    }

    public var value: Int64 {
        var x = state
        x ^= x >> 33
        x = x &* 0xFF51_AFD7_ED55_8CCD
        x ^= x >> 33
        return Int64(bitPattern: x)
    }

    /// Hex text of the hash of the given strings.
    public static func hex(_ parts: String...) -> String {
        var h = StableHash()
        for p in parts { h.combine(p) }
        let s = String(UInt64(bitPattern: h.value), radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
