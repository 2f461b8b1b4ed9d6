import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Why the simulator's server could not start.
public struct SimServerError: Error, Sendable, CustomStringConvertible {
    /// What failed, with the system's reason.
    public var message: String
    /// An error with `message`.
    public init(_ message: String) { self.message = message }
    public var description: String { "simulator HTTP server: \(message)" }
}

/// A small threaded HTTP/1.1 server on 127.0.0.1 for tests and the simulator: one thread
/// accepts, one thread per connection serves requests in order (keep-alive unless the client
/// says `Connection: close` or speaks HTTP/1.0).
///
/// - Requests: `Content-Length` or `Transfer-Encoding: chunked` bodies (≤ 64 MiB, else 413),
///   headers ≤ 64 KiB (else 431), `Expect: 100-continue` answered; path and query are
///   percent-decoded into ``SimRequest``. A malformed request gets 400 and the connection closes.
/// - Responses: the handler's status, reason (or the standard phrase) and headers, plus
///   `Content-Length` and `Date` unless the handler set them. A body over 1 KiB is gzipped when
///   the client accepts gzip and the handler set no `Content-Encoding` or `Content-Length`.
/// - Faults (``SimFault``): `.delay` waits then answers, `.reset` closes with a TCP RST,
///   `.truncate` sends the full `Content-Length` but only the first N body bytes, then closes.
///
/// ```swift
/// let server = try SimHTTPServer { request in .json(200, #"{"path":"\#(request.path)"}"#) }
/// defer { server.stop() }
/// let url = server.baseURL + "/subscriptions"
/// ```
///
/// Writes use `MSG_NOSIGNAL`, so a client that hangs up never raises SIGPIPE.
public final class SimHTTPServer: Sendable {
    /// The port the server listens on (chosen by the kernel).
    public let port: Int
    private let core: ServerCore

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Binds 127.0.0.1 on `port` (0, the default: an ephemeral port) and starts accepting.
    ///
    /// - Parameters:
    ///   - port: The port to listen on; 0 lets the kernel choose.
    ///   - handler: Called once per request, concurrently from connection threads.
    /// - Throws: ``SimServerError`` when the socket cannot be created, bound or listened on.
    public init(port requested: Int = 0, handler: @escaping SimHandler) throws(SimServerError) {
        // Everything that can fail happens before the stored properties are set, so a failure
        // closes the socket here and nothing is closed twice (no deinit runs).
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SimServerError("socket() failed: \(Wire.errnoText())") }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(clamping: requested).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            let reason = Wire.errnoText()
            close(fd)
            throw SimServerError("cannot listen on 127.0.0.1: \(reason)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            let reason = Wire.errnoText()
            close(fd)
            throw SimServerError("getsockname() failed: \(reason)")
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        core = ServerCore(listener: fd, handler: handler)
        core.start(port: port)
    }

    /// Stops accepting, shuts every open connection down and closes the listening socket
    /// (new connections to the port are refused once this returns). Idempotent; a handler
    /// already running finishes but its answer is not delivered.
    public func stop() { core.stop() }

    deinit { core.stop() }
}

/// The server's shared state. Threads hold this object, not the ``SimHTTPServer``, so that
/// dropping the server runs its `deinit` (which stops everything).
///
/// Sendable without `@unchecked`: the file descriptors and handler are immutable, the mutable
/// state (stopped flag, open connections) is in a `Mutex`, and `DispatchSemaphore` is Sendable.
private final class ServerCore: Sendable {
    private struct State {
        var isStopped = false
        /// Connection sockets owned by live connection threads. A thread removes its socket
        /// under the lock *before* closing it, and `stop()` shuts sockets down under the same
        /// lock, so `stop()` never touches a descriptor number that was already reused.
        var connections: Set<Int32> = []
    }

    let listener: Int32
    let handler: SimHandler
    private let state = Mutex(State())
    private let acceptLoopEnded = DispatchSemaphore(value: 0)

    /// Headers larger than this get 431; bodies larger than `maxBody` get 413.
    static let maxHead = 64 * 1024
    static let maxBody = 64 * 1024 * 1024
    /// An idle keep-alive connection is closed after this many seconds.
    static let idleTimeout = 30

    init(listener: Int32, handler: @escaping SimHandler) {
        self.listener = listener
        self.handler = handler
    }

    var isStopped: Bool { state.withLock { $0.isStopped } }

    func start(port: Int) {
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "SimHTTPServer :\(port) accept"
        thread.start()
    }

    func stop() {
        let first = state.withLock { s -> Bool in
            guard !s.isStopped else { return false }
            s.isStopped = true
            // On Linux, shutdown() wakes a thread blocked in accept() (EINVAL) and makes the
            // port refuse new connections; the accept thread then closes the descriptor.
            _ = shutdown(listener, Int32(SHUT_RDWR))
            for fd in s.connections { _ = shutdown(fd, Int32(SHUT_RDWR)) }
            return true
        }
        if first { _ = acceptLoopEnded.wait(timeout: .now() + 5) }
    }

    // MARK: - Accepting

    private func acceptLoop() {
        defer {
            close(listener)
            acceptLoopEnded.signal()
        }
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                let code = errno
                if isStopped { return }
                if code == EINTR || code == ECONNABORTED { continue }
                if code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM {
                    usleep(10_000)
                    continue
                }
                return
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)  // child processes of the tests must not inherit it
            let registered = state.withLock { s -> Bool in
                guard !s.isStopped else { return false }
                s.connections.insert(fd)
                return true
            }
            guard registered else {
                close(fd)
                return
            }
            let thread = Thread { [self] in serve(fd) }
            thread.name = "SimHTTPServer connection \(fd)"
            thread.start()
        }
    }

    // MARK: - One connection

    private func serve(_ fd: Int32) {
        var resetOnClose = false
        var drainOnClose = false
        defer { finish(fd, reset: resetOnClose, drain: drainOnClose) }
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        Wire.setReceiveTimeout(fd, seconds: Self.idleTimeout)
        var reader = SocketReader(fd: fd)

        while !isStopped {
            let head: RequestHead
            do {
                guard let h = try reader.readHead(limit: Self.maxHead) else { return }
                head = h
            } catch {
                drainOnClose = true
                _ = Wire.sendAll(fd, Wire.errorResponse(error))
                return
            }
            if head.expectsContinue {
                guard Wire.sendAll(fd, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { return }
            }
            let body: [UInt8]
            do {
                body = try reader.readBody(head, limit: Self.maxBody)
            } catch {
                drainOnClose = true
                _ = Wire.sendAll(fd, Wire.errorResponse(error))
                return
            }

            let response = handler(head.simRequest(body: body))
            if case .delay(let seconds) = response.fault, seconds > 0 { Thread.sleep(forTimeInterval: seconds) }
            if case .reset = response.fault {
                resetOnClose = true
                return
            }
            let closeAfter = !head.keepAlive || response.headers.contains {
                $0.name.lowercased() == "connection" && $0.value.lowercased().contains("close")
            }
            let wire = Wire.encode(response, for: head, close: closeAfter)
            if case .truncate(let afterBytes) = response.fault {
                _ = Wire.sendAll(fd, wire.head + wire.body.prefix(max(0, afterBytes)))
                return
            }
            guard Wire.sendAll(fd, wire.head + wire.body), !closeAfter else { return }
        }
    }

    /// Forgets `fd` (under the lock, see `State.connections`) and closes it: with an RST when
    /// `reset`, after reading what the client still sends when `drain` (so that an error
    /// answer is not destroyed by an RST caused by unread request bytes).
    private func finish(_ fd: Int32, reset: Bool, drain: Bool) {
        state.withLock { _ = $0.connections.remove(fd) }
        if reset {
            var hard = linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, socklen_t(MemoryLayout<linger>.size))
        } else if drain {
            _ = shutdown(fd, Int32(SHUT_WR))
            Wire.setReceiveTimeout(fd, seconds: 1)
            var scratch = [UInt8](repeating: 0, count: 16 * 1024)
            var budget = 4 * 1024 * 1024
            while budget > 0 {
                let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                budget -= n
            }
        }
        close(fd)
    }
}
