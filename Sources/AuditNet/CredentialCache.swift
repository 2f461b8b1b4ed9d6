import AuditCore
import Foundation

/// The token cache of one credential: one token per scope, reused until 5 minutes before it
/// expires.
///
/// Thread-safe. Callers asking for the same scope at the same time do not stampede: the first
/// one fetches while holding that scope's lock, the others wait on it and then take the token
/// it stored. Different scopes fetch in parallel. A fetch that fails stores nothing, so the
/// next caller tries again.
final class TokenCache: @unchecked Sendable {
    /// Tokens this close to expiry are fetched again.
    static let refreshMarginMicros: Int64 = 5 * Timestamp.microsPerMinute

    private let lock = NSLock()
    // Guarded by `lock`.
    private var tokens: [String: AccessToken] = [:]
    private var scopeLocks: [String: NSLock] = [:]
    let now: @Sendable () -> Int64

    init(now: @escaping @Sendable () -> Int64) {
        self.now = now
    }

    func token(scope: String, fetch: (String) throws(AuthError) -> AccessToken) throws(AuthError) -> AccessToken {
        if let t = cached(scope) { return t }
        let scopeLock = lock.withLock {
            if let l = scopeLocks[scope] { return l }
            let l = NSLock()
            scopeLocks[scope] = l
            return l
        }
        scopeLock.lock()
        defer { scopeLock.unlock() }
        // Someone else may have fetched it while this caller waited.
        if let t = cached(scope) { return t }
        let fresh = try fetch(scope)
        lock.withLock { tokens[scope] = fresh }
        return fresh
    }

    private func cached(_ scope: String) -> AccessToken? {
        let t = lock.withLock { tokens[scope] }
        guard let t, t.expiresOnMicros - Self.refreshMarginMicros > now() else { return nil }
        return t
    }
}
