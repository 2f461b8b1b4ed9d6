-- 0004_probes: what `aoai-audit probe` saw on the Azure OpenAI data plane.
-- One row per request sent; the requests of one command (`--repeat N`) share series_id.
-- Nothing secret is stored: the endpoint's host (never the key, a token or a URL query), the
-- auth kind, and the token's object id (oid) for Entra probes.
-- A probe is evidence of a failure class (what the service answers this credential now), never
-- a cause: correlation cites it, it does not rank it. The named query `probes` joins each probe
-- to the burst of its resource whose window holds it and says whether it confirms the burst's
-- signature.
CREATE TABLE probes (
    id                           INTEGER PRIMARY KEY,
    time_us                      INTEGER NOT NULL,  -- when the request was sent
    series_id                    TEXT NOT NULL,
    seq                          INTEGER NOT NULL,  -- 1..N within the series
    endpoint_host                TEXT NOT NULL,     -- e.g. aoai-prod.openai.azure.com
    resource_id                  TEXT NOT NULL,     -- lower-cased ARM id, else account name, else ''
    deployment                   TEXT NOT NULL,
    api_version                  TEXT NOT NULL,
    auth                         TEXT NOT NULL,     -- key | entra
    principal_id                 TEXT,              -- oid of the Entra token (or the one the service named)
    status                       INTEGER NOT NULL,  -- HTTP status
    class                        TEXT NOT NULL,     -- ok, invalid_key_or_endpoint, key_auth_disabled, token_rejected,
                                                    -- no_data_plane_role, deployment_not_found, throttled, other
    error_code                   TEXT,              -- error.code of the body (401, AuthenticationTypeDisabled, …)
    detail                       TEXT NOT NULL,     -- what the answer means, one line
    fix                          TEXT NOT NULL,     -- what to do, one line
    latency_ms                   REAL NOT NULL,     -- the one request, send to last byte
    apim_request_id              TEXT,
    client_request_id            TEXT,              -- x-ms-client-request-id the probe sent
    region                       TEXT,              -- x-ms-region
    ratelimit_remaining_requests INTEGER,
    ratelimit_remaining_tokens   INTEGER,
    retry_after_s                REAL,              -- retry-after-ms / Retry-After, seconds
    UNIQUE (series_id, seq)
);
CREATE INDEX probes_time ON probes(time_us);
CREATE INDEX probes_resource_time ON probes(resource_id, time_us);
