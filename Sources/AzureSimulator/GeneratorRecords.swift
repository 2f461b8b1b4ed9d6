import AuditCore

/// Writes the Azure OpenAI `RequestResponse` records (formats.md §4.2) of one account, one
/// hourly `PT1H.json` blob at a time, as JSON lines.
///
/// Keys come in the order of the real capture; `properties` is a JSON-encoded string for
/// about 30% of the records and an object otherwise; `requestTime`/`responseTime` are .NET
/// ticks with `(responseTime - requestTime) / 10_000 == durationMs`, and `time` (when the
/// record was logged) comes 0.2–3 s after `responseTime`, as in the capture.
struct RequestResponseWriter {
    private let account: GeneratorTopology.Account
    /// Upper bounds of `unit()` for 401, 429, 404, 500 and 403, in that order.
    private let thresholds: [Double]
    private let head: [UInt8]
    private let ips: [[UInt8]]
    private let middle: [UInt8]
    private let objectIds: [[UInt8]]
    private let tail: [UInt8]
    private let pieces: [[[UInt8]]]  // [objectForm, stringForm][piece]

    /// Share of requests throttled with 429.
    static let throttleRate = 0.005
    static let notFoundRate = 0.0005
    static let serverErrorRate = 0.0002
    static let forbiddenRate = 0.0001

    /// Response body lengths of the error bodies in formats.md §5.
    static let keyErrorLength = 224
    static let tokenErrorLength = #"{"statusCode": 401, "message": "Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired."}"#.utf8.count
    static let disabledLength = #"{"error":{"code":"AuthenticationTypeDisabled","message": "Key based authentication is disabled for this resource."}}"#.utf8.count
    static let notFoundLength = #"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}"#.utf8.count
    static let throttledLength = #"{"error":{"code":"429","message": "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 6 seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."}}"#.utf8.count
    static let serverErrorLength = #"{"error":{"code":"InternalServerError","message":"The server had an error while processing your request. Sorry about that!"}}"#.utf8.count

    init(account: GeneratorTopology.Account, failureRate: Double) {
        self.account = account
        var limit = failureRate
        thresholds = [0, Self.throttleRate, Self.notFoundRate, Self.serverErrorRate, Self.forbiddenRate].map {
            limit += $0
            return limit
        }
        head = Array(#"{"Tenant":"\#(account.region.name)","callerIpAddress":""#.utf8)
        ips = account.callers.map { Array($0.maskedIp.utf8) }
        middle = Array(#"","category":"RequestResponse","correlationId":""#.utf8)
        objectIds = account.callers.map { Array($0.objectId.utf8) }
        tail = Array(#","resourceId":"\#(account.upperResourceId)","resultSignature":""#.utf8)
        let template = [
            #"{"apiName":"Azure OpenAI API version "#, #"","requestTime":"#, #","requestLength":"#,
            #","responseTime":"#, #","responseLength":"#, #","objectId":""#, #"","streamType":""#,
            #"","modelDeploymentName":""#, #"","modelName":""#, #"","modelVersion":""#, #""}"#,
        ]
        let asObject = template.map { Array($0.utf8) }
        let asString = template.map { piece in
            Array(piece.utf8.flatMap { $0 == 0x22 ? [0x5C, 0x22] : [$0] })
        }
        pieces = [asObject, asString]
    }

    private enum Operation {
        case chat, embeddings, completions

        var name: StaticString {
            switch self {
            case .chat: return "ChatCompletions_Create"
            case .embeddings: return "Embeddings_Create"
            case .completions: return "Completions_Create"
            }
        }
    }

    /// Appends `count` records logged during the hour starting at `hourStart` (100-ns ticks
    /// since the Unix epoch), in time order.
    func appendHour(start hourStart: Int64, count: Int, rng: inout GeneratorRandom, into out: inout GeneratorBuffer) {
        let hourTicks: Int64 = 36_000_000_000
        var offsets = (0..<count).map { _ in rng.int64(hourTicks) }
        offsets.sort()
        for offset in offsets {
            appendRecord(time: hourStart + offset, rng: &rng, into: &out)
        }
    }

    private func appendRecord(time: Int64, rng: inout GeneratorRandom, into out: inout GeneratorBuffer) {
        var callerIndex = rng.weighted(account.callerCumulative)
        let u = rng.unit()
        var status = 200
        if u < thresholds[0] {
            status = 401
        } else if u < thresholds[1] {
            status = 429
        } else if u < thresholds[2] {
            status = 404
        } else if u < thresholds[3] {
            status = 500
        } else if u < thresholds[4] {
            status = 403
        }
        // The 401 trickle is mostly one stale key; 403 (local auth disabled) only hits key callers.
        if (status == 401 && rng.chance(0.85)) || status == 403 { callerIndex = account.staleCaller }
        appendRecord(
            time: time, caller: callerIndex, status: status, apiVersion: nil, responseLength: nil,
            keepObjectId: false, rng: &rng, into: &out)
    }

    /// Appends one record of `account.callers[callerIndex]` logged at `time` (100-ns ticks since
    /// the Unix epoch) with HTTP `status`. The operation, deployment, lengths and durations are
    /// drawn from `rng`; `apiVersion` overrides the caller's usual version, `responseLength` the
    /// error body length of `status`, and `keepObjectId` keeps the caller's Entra object id on a
    /// 401 (the bulk generator blanks it, as a request rejected before authentication would).
    func appendRecord(
        time: Int64, caller callerIndex: Int, status: Int, apiVersion override: String?, responseLength lengthOverride: Int64?,
        keepObjectId: Bool, rng: inout GeneratorRandom, into out: inout GeneratorBuffer
    ) {
        let caller = account.callers[callerIndex]

        let p = rng.unit()
        let operation: Operation
        switch caller.profile {
        case .chat: operation = p < 0.92 ? .chat : .embeddings
        case .rag: operation = p < 0.7 ? .embeddings : .chat
        case .legacy: operation = p < 0.6 ? .completions : .chat
        }
        var deployment: GeneratorTopology.Deployment
        switch operation {
        case .chat: deployment = caller.chat
        case .embeddings: deployment = GeneratorTopology.embeddingDeployment
        case .completions: deployment = GeneratorTopology.completionsDeployment
        }
        if status == 404 { deployment = GeneratorTopology.missingDeployment }
        let versions = caller.apiVersions
        let apiVersion = override ?? (versions.count == 1 || rng.chance(0.7) ? versions[0] : rng.pick(versions))
        let streaming = operation == .chat && rng.chance(caller.streamingShare)

        let durationMs: Int64
        let requestLength = Int64(
            rng.spread(median: operation == .embeddings ? 2500 : operation == .chat ? 1800 : 900, sigma: 0.7))
        var responseLength: Int64
        switch status {
        case 200:
            let median: Double
            switch operation {
            case .chat: median = streaming ? 2600 : 950
            case .embeddings: median = 70
            case .completions: median = 700
            }
            durationMs = Int64(rng.spread(median: median, sigma: 0.6))
            responseLength = Int64(
                operation == .embeddings
                    ? rng.spread(median: 36_000, sigma: 0.05) : rng.spread(median: 1400, sigma: 0.7))
        case 401:
            durationMs = Int64(1 + rng.int(9))
            responseLength = Int64(caller.objectId.isEmpty ? Self.keyErrorLength : Self.tokenErrorLength)
        case 403:
            durationMs = Int64(1 + rng.int(9))
            responseLength = Int64(Self.disabledLength)
        case 429:
            durationMs = Int64(2 + rng.int(20))
            responseLength = Int64(Self.throttledLength)
        case 404:
            durationMs = Int64(3 + rng.int(15))
            responseLength = Int64(Self.notFoundLength)
        default:
            durationMs = Int64(rng.spread(median: 3000, sigma: 0.5))
            responseLength = Int64(Self.serverErrorLength)
        }
        let logDelay = 2_000_000 + rng.int64(28_000_000)
        let responseTicks = time - logDelay + Timestamp.unixEpochTicks
        let requestTicks = responseTicks - durationMs * 10_000 - rng.int64(10_000)
        let propertiesAsString = rng.chance(0.3)
        let correlation = rng.guid()
        if let lengthOverride, status != 200 { responseLength = lengthOverride }
        if responseLength < 1 { responseLength = 1 }

        out.raw(head)
        out.raw(ips[callerIndex])
        out.raw(middle)
        out.guid(correlation)
        out.raw(#"","durationMs":"#)
        out.int(durationMs)
        out.raw(#","event":"ShoeboxCallResult","location":""#)
        out.raw(account.region.name)
        out.raw(#"","operationName":""#)
        out.raw(operation.name)
        out.raw(#"","properties":"#)
        let piece = pieces[propertiesAsString ? 1 : 0]
        if propertiesAsString { out.byte(0x22) }
        out.raw(piece[0])
        out.raw(apiVersion)
        out.raw(piece[1])
        out.int(requestTicks)
        out.raw(piece[2])
        out.int(max(requestLength, 1))
        out.raw(piece[3])
        out.int(responseTicks)
        out.raw(piece[4])
        out.int(responseLength)
        out.raw(piece[5])
        if status != 401 || keepObjectId { out.raw(objectIds[callerIndex]) }
        out.raw(piece[6])
        out.raw(streaming ? "Streaming" : "Non-Streaming")
        out.raw(piece[7])
        out.raw(deployment.name)
        out.raw(piece[8])
        out.raw(deployment.model)
        out.raw(piece[9])
        out.raw(deployment.version)
        out.raw(piece[10])
        if propertiesAsString { out.byte(0x22) }
        out.raw(tail)
        out.int(status)
        out.raw(#"","time":""#)
        out.isoTicks(time)
        out.raw("\"}\n")
    }
}
