import AuditNet
import AzureSimulator
import Foundation
import Synchronization

/// Records the client's backoff waits instead of sleeping.
final class SleepRecorder: Sendable {
    private let delays = Mutex<[Double]>([])
    var recorded: [Double] { delays.withLock { $0 } }
    var sleep: @Sendable (Double) -> Void { { d in self.delays.withLock { $0.append(d) } } }
}

/// Answers requests with `responses` in order (the last one repeats) and keeps what it saw.
final class ScriptedHandler: Sendable {
    private let state = Mutex<[SimRequest]>([])
    private let responses: [SimResponse]

    init(_ responses: [SimResponse]) { self.responses = responses }

    var requests: [SimRequest] { state.withLock { $0 } }
    var count: Int { state.withLock { $0.count } }

    var handler: SimHandler {
        { request in
            let n = self.state.withLock { seen -> Int in
                seen.append(request)
                return seen.count
            }
            return self.responses[min(n, self.responses.count) - 1]
        }
    }
}

enum Net {
    /// A client that never really sleeps; jitter is always half the window.
    static func client(maxAttempts: Int = 6, recorder: SleepRecorder = SleepRecorder(), configure: (inout HTTPClientOptions) -> Void = { _ in }) -> CurlHTTPClient {
        var options = HTTPClientOptions(connectTimeout: 2, totalTimeout: 10, maxAttempts: maxAttempts, sleep: recorder.sleep, random: { 0.5 })
        configure(&options)
        return CurlHTTPClient(options: options)
    }

    /// A loopback port nobody listens on (a server's port, after it stopped).
    static func closedPort() throws -> Int {
        let server = try SimHTTPServer { _ in SimResponse(status: 200) }
        let port = server.port
        server.stop()
        return port
    }

    /// Sends raw bytes to the server and returns everything it answers until it closes (or 2 s).
    static func raw(_ bytes: [UInt8], port: Int, shutdownWrite: Bool = false) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return "" }
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if shutdownWrite { _ = shutdown(fd, Int32(SHUT_WR)) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// IMF-fixdate, as a server writes it.
    static func httpDate(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return f.string(from: date)
    }
}
