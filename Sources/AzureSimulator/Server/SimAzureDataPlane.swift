import AuditCore
import Foundation

/// The Azure OpenAI data plane (formats.md §5): `POST /openai/deployments/{d}/chat/completions`
/// (and `completions`, `embeddings`) with `api-key` or an Entra bearer token, answering each
/// 401/403 class with its exact body, then 404 for an unknown deployment, the 429 knob, or a
/// minimal completion with the region and rate-limit headers.
///
/// The account comes from the `Host` (`<account>.openai.azure.com`); on loopback (an IP
/// address or `localhost`) it is `options.dataPlaneAccount`, else the first account by name.
/// Requests here do not add diagnostics records.
extension SimAzureState {
    static let cognitiveAudiences = ["https://cognitiveservices.azure.com"]

    /// §5 bodies, byte for byte.
    static let invalidKeyBody = #"{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}"#
    static let missingKeyBody = #"{"error":{"code":"401","message":"Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."}}"#
    static let keyDisabledBody = #"{"error":{"code":"AuthenticationTypeDisabled","message": "Key based authentication is disabled for this resource."}}"#
    static let tokenBody = #"{"statusCode": 401, "message": "Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired."}"#
    static let permissionDeniedBody = #"{"error":{"code":"PermissionDenied","message":"Principal does not have access to API/Operation."}}"#
    static let deploymentNotFoundBody = #"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}"#
    static let resourceNotFoundBody = #"{"error":{"code":"404","message":"Resource not found"}}"#
    static let publicAccessDisabledBody = #"{"error":{"code":"403","message": "Public access is disabled. Please configure private endpoint."}}"#

    /// The account a data-plane request is for, from its `Host`.
    func dataPlaneAccount(_ request: SimRequest) -> SimAccount? {
        var host = (request[header: "host"] ?? "127.0.0.1").lowercased()
        if host.hasPrefix("[") {
            host = "::1"
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        let isLoopback = host == "localhost" || host == "::1" || host.allSatisfy { $0.isNumber || $0 == "." }
        let sorted = accounts.values.sorted { $0.name.lowercased() < $1.name.lowercased() }
        if isLoopback {
            if let wanted = options.dataPlaneAccount { return sorted.first { $0.name.caseInsensitiveEquals(wanted) } }
            return sorted.first
        }
        let label = String(host.split(separator: ".").first ?? "")
        return sorted.first { $0.name.caseInsensitiveEquals(label) }
    }

    mutating func handleDataPlane(_ request: SimRequest) -> SimResponse {
        let apim = ids.guid()
        func answer(_ status: Int, _ reason: String, _ body: String, _ extra: [(name: String, value: String)] = []) -> SimResponse {
            var headers: [(name: String, value: String)] = [
                ("Content-Type", "application/json"), ("apim-request-id", apim), ("x-request-id", apim),
                ("Strict-Transport-Security", "max-age=31536000; includeSubDomains; preload"), ("x-content-type-options", "nosniff"),
            ]
            if let c = request[header: "x-ms-client-request-id"] { headers.append(("x-ms-client-request-id", c)) }
            return SimResponse(status: status, reason: reason, headers: headers + extra, body: Array(body.utf8))
        }
        let segments = request.path.split(separator: "/").map { $0.lowercased() }
        guard request.method == "POST", segments.count >= 4, segments[1] == "deployments",
            let operation = ["chat/completions": "ChatCompletions_Create", "completions": "Completions_Create", "embeddings": "Embeddings_Create"][
                segments[3...].joined(separator: "/")],
            let apiVersion = SimFormat.query(request, "api-version"), !apiVersion.isEmpty,
            let account = dataPlaneAccount(request)
        else {
            return answer(404, "Not Found", Self.resourceNotFoundBody)
        }
        dataPlaneCounter += 1
        if account.publicNetworkAccess.caseInsensitiveEquals("Disabled") {
            return answer(403, "Forbidden", Self.publicAccessDisabledBody)
        }
        if let key = request[header: "api-key"] {
            if account.disableLocalAuth { return answer(403, "Forbidden", Self.keyDisabledBody) }
            if !account.keys.contains(key) { return answer(401, "PermissionDenied", Self.invalidKeyBody) }
        } else if request[header: "authorization"] != nil {
            switch authenticate(request, audiences: Self.cognitiveAudiences, exact: false) {
            case .failure: return answer(401, "Unauthorized", Self.tokenBody)
            case .success(let token):
                if !hasDataPlaneRole(token.objectID, accountID: account.resourceID) {
                    return answer(401, "PermissionDenied", Self.permissionDeniedBody)
                }
            }
        } else {
            return answer(401, "PermissionDenied", Self.missingKeyBody)
        }
        guard let deployment = account.deployments[segments[2]] else {
            return answer(404, "Not Found", Self.deploymentNotFoundBody)
        }
        if let n = options.dataPlaneThrottleEvery, n > 0, dataPlaneCounter % n == 0 {
            let retry = options.retryAfterSeconds
            let body = #"{"error":{"code":"429","message": "Requests to the \#(operation) Operation under Azure OpenAI API version \#(apiVersion) have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after \#(retry) seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."}}"#
            return answer(
                429, "Too Many Requests", body,
                [("Retry-After", retry), ("retry-after-ms", String((Int(retry) ?? 1) * 1000)), ("x-ratelimit-remaining-requests", "0"),
                 ("x-ratelimit-remaining-tokens", "0")])
        }
        let created = now / Timestamp.microsPerSecond
        let model = SimFormat.json(deployment.model.isEmpty ? deployment.name : deployment.model)
        let body: String
        switch operation {
        case "Embeddings_Create":
            body = #"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0023064255,-0.009327292,0.015797347]}],"model":\#(model),"usage":{"prompt_tokens":5,"total_tokens":5}}"#
        case "Completions_Create":
            body = #"{"id":"cmpl-\#(apim.prefix(8))","object":"text_completion","created":\#(created),"model":\#(model),"choices":[{"text":"Hello from the simulator.","index":0,"finish_reason":"stop","logprobs":null}],"usage":{"completion_tokens":6,"prompt_tokens":9,"total_tokens":15}}"#
        default:
            body = #"{"choices":[{"content_filter_results":{},"finish_reason":"stop","index":0,"logprobs":null,"message":{"content":"Hello from the simulator.","refusal":null,"role":"assistant"}}],"created":\#(created),"id":"chatcmpl-\#(apim.prefix(8))","model":\#(model),"object":"chat.completion","prompt_filter_results":[],"system_fingerprint":"fp_sim","usage":{"completion_tokens":6,"prompt_tokens":9,"total_tokens":15}}"#
        }
        let region = Self.regionNames[account.location] ?? account.location
        return answer(
            200, "OK", body,
            [("cache-control", "no-cache, must-revalidate"), ("access-control-allow-origin", "*"), ("x-ms-region", region),
             ("x-ratelimit-remaining-requests", String(max(0, 999 - dataPlaneCounter % 1000))),
             ("x-ratelimit-remaining-tokens", String(max(0, 99_000 - (dataPlaneCounter % 1000) * 15))), ("x-accel-buffering", "no"),
             ("azureml-model-session", "d001-20260901000000")])
    }
}
