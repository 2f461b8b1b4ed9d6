import Foundation

/// A request as the simulator's HTTP server received it.
public struct SimRequest: Sendable {
    public var method: String
    /// The path without the query, percent-decoded.
    public var path: String
    /// Query parameters, percent-decoded (`+` is a space in form bodies only).
    public var query: [String: String]
    /// Header names lower-cased.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    public subscript(header name: String) -> String? { headers[name.lowercased()] }
}

/// How a response goes wrong on the wire (fault knobs).
public enum SimFault: Sendable, Equatable {
    /// Send the headers (with the full Content-Length) and only this many body bytes, then close.
    case truncate(afterBytes: Int)
    /// Close the connection with a TCP reset before answering.
    case reset
    /// Wait this many seconds before answering.
    case delay(seconds: Double)
}

/// A response the handler wants sent.
public struct SimResponse: Sendable {
    public var status: Int
    public var reason: String?
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var fault: SimFault?

    public init(status: Int, reason: String? = nil, headers: [(name: String, value: String)] = [], body: [UInt8] = [], fault: SimFault? = nil) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.fault = fault
    }

    public static func json(_ status: Int, _ text: String, headers: [(name: String, value: String)] = []) -> SimResponse {
        SimResponse(status: status, headers: [("Content-Type", "application/json; charset=utf-8")] + headers, body: Array(text.utf8))
    }
}

/// Handles one request (called concurrently from connection threads).
public typealias SimHandler = @Sendable (SimRequest) -> SimResponse
