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

/// FNV-1a, 64 bit: a fixed, seedless hash (never Swift's per-process `Hasher`), stable across
/// processes and machines as contracts.md requires for dedupe keys.
public struct StableHash {
    public private(set) var state: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func combine(_ s: String) {
        for b in s.utf8 { state = (state ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        state = (state ^ 0xFF) &* 0x0000_0100_0000_01B3  // field separator
    }

    public mutating func combine(_ v: Int64) {
        var x = UInt64(bitPattern: v)
        for _ in 0..<8 {
            state = (state ^ (x & 0xFF)) &* 0x0000_0100_0000_01B3
            x >>= 8
        }
    }

    public var value: Int64 { Int64(bitPattern: state) }

    /// Hex text of the hash of the given strings.
    public static func hex(_ parts: String...) -> String {
        var h = StableHash()
        for p in parts { h.combine(p) }
        let s = String(h.state, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
