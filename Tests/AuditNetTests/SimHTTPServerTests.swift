import AuditNet
import AzureSimulator
import Foundation
import Testing

/// The simulator's HTTP server spoken to with raw sockets (framing, limits, garbage).
@Suite struct SimHTTPServerTests {
    @Test func aGarbageRequestLineGets400AndTheServerKeepsServing() throws {
        let server = try SimHTTPServer { _ in .json(200, "{}") }
        defer { server.stop() }
        #expect(Net.raw(Array("GARBAGE\r\n\r\n".utf8), port: server.port).hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        // A TLS ClientHello on the plain port: answered at once, not after a timeout.
        #expect(Net.raw([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03], port: server.port).hasPrefix("HTTP/1.1 400"))
        #expect(Net.raw(Array("GET /x HTTP/9.9\r\n\r\n".utf8), port: server.port).hasPrefix("HTTP/1.1 400"))
        #expect(Net.raw(Array("GET /x HTTP/1.1\r\nno colon here\r\n\r\n".utf8), port: server.port).hasPrefix("HTTP/1.1 400"))
        #expect(Net.raw(Array("POST /x HTTP/1.1\r\nContent-Length: -5\r\n\r\n".utf8), port: server.port).hasPrefix("HTTP/1.1 400"))
        #expect(Net.raw(Array("GET / HTTP/1.1\r\n".utf8) + Array(repeating: 0x41, count: 10), port: server.port, shutdownWrite: true).hasPrefix("HTTP/1.1 400"))
        #expect(Net.raw([], port: server.port, shutdownWrite: true) == "")
        #expect(try Net.client().send(HTTPRequest(url: server.baseURL + "/after")).status == 200)
    }

    @Test func mangledRequestsNeverCrashTheServer() throws {
        let server = try SimHTTPServer { request in SimResponse(status: 200, body: request.body) }
        defer { server.stop() }
        let valid = Array("POST /a?b=%41 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".utf8)
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: seed >> 33)
        }
        for round in 0..<60 {
            var bytes = valid
            switch round % 3 {
            case 0: for _ in 0..<(1 + next() % 4) { bytes[next() % bytes.count] = UInt8(truncatingIfNeeded: next()) }
            case 1: bytes = Array(bytes.prefix(next() % bytes.count))
            default: bytes = (0..<(next() % 200)).map { _ in UInt8(truncatingIfNeeded: next()) }
            }
            _ = Net.raw(bytes, port: server.port, shutdownWrite: true)
        }
        #expect(try Net.client().send(HTTPRequest(method: "POST", url: server.baseURL + "/still", body: Array("up".utf8))).text == "up")
    }

    @Test func oversizedHeadersGet431AndOversizedBodiesGet413() throws {
        let server = try SimHTTPServer { _ in SimResponse(status: 200) }
        defer { server.stop() }
        let big = "GET / HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 70 * 1024) + "\r\n\r\n"
        #expect(Net.raw(Array(big.utf8), port: server.port).hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"))
        let huge = "POST / HTTP/1.1\r\nContent-Length: \(65 * 1024 * 1024)\r\n\r\nabc"
        #expect(Net.raw(Array(huge.utf8), port: server.port).hasPrefix("HTTP/1.1 413"))
    }

    @Test func chunkedBodiesAndKeepAliveAndConnectionClose() throws {
        let server = try SimHTTPServer { request in
            SimResponse(status: 200, reason: "Fine", headers: [("X-Len", "\(request.body.count)")], body: request.body)
        }
        defer { server.stop() }
        let requests = "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n"
            + "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        let answer = Net.raw(Array(requests.utf8), port: server.port)
        let parts = answer.components(separatedBy: "HTTP/1.1 200 Fine\r\n")
        #expect(parts.count == 3)
        #expect(answer.contains("X-Len: 11\r\n"))
        #expect(answer.contains("\r\n\r\nhello world"))
        #expect(answer.contains("Connection: close\r\n"))
        #expect(answer.contains("Date: "))
    }

    @Test func expectContinueIsAnswered() throws {
        let server = try SimHTTPServer { request in SimResponse(status: 200, body: request.body) }
        defer { server.stop() }
        let answer = Net.raw(Array("PUT /p HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".utf8), port: server.port)
        #expect(answer.hasPrefix("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"))
        #expect(answer.hasSuffix("\r\n\r\nok"))
    }

    @Test func http10ClosesAndPlusStaysInTheQuery() throws {
        let server = try SimHTTPServer { request in
            SimResponse(status: 200, body: Array("\(request.path)|\(request.query["q"] ?? "-")|\(request.query["flag"] ?? "-")".utf8))
        }
        defer { server.stop() }
        let answer = Net.raw(Array("GET /a%2Fb/c%20d?q=1+2%3D3&flag HTTP/1.0\r\n\r\n".utf8), port: server.port)
        #expect(answer.hasSuffix("\r\n\r\n/a/b/c d|1+2=3|"))
        #expect(answer.contains("Connection: close\r\n"))
    }

    @Test func handlerHeadersWinAndStopIsIdempotent() throws {
        let server = try SimHTTPServer { _ in
            SimResponse(status: 200, headers: [("Content-Length", "3"), ("Date", "Sun, 06 Nov 1994 08:49:37 GMT"), ("Connection", "close")], body: Array("abc".utf8))
        }
        let answer = Net.raw(Array("GET / HTTP/1.1\r\n\r\n".utf8), port: server.port)
        #expect(answer.components(separatedBy: "Content-Length:").count == 2)
        #expect(answer.contains("Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"))
        let port = server.port
        server.stop()
        server.stop()
        #expect(Net.raw(Array("GET / HTTP/1.1\r\n\r\n".utf8), port: port) == "")
    }
}
