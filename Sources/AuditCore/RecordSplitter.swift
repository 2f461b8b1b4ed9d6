/// One record's bytes with where it started in the (decompressed) input.
public struct RawRecord: Sendable {
    public var bytes: [UInt8]
    /// 1-based line of the record's first byte.
    public var line: Int
    /// Byte offset of the record's first byte.
    public var offset: Int64
}

/// What a splitter yields.
public enum SplitItem: Sendable {
    case record(RawRecord)
    /// A record longer than the limit: skipped without buffering it, first bytes kept.
    case oversized(line: Int, offset: Int64, length: Int64, head: [UInt8])
    /// A top-level member of a single-document file other than the record array
    /// (`nextLink`, `page`, `tables`…), as JSON text.
    case member(key: String, bytes: [UInt8])
}

/// Splits JSON Lines input into records without ever holding more than one record (bounded
/// by `maxRecordBytes`) in memory.
public final class LineSplitter {
    private let reader: ChunkReader
    private let maxRecordBytes: Int
    private var chunk: [UInt8] = []
    private var pos = 0
    private var line = 1
    private var offset: Int64 = 0
    private var done = false

    public init(reader: ChunkReader, maxRecordBytes: Int) {
        self.reader = reader
        self.maxRecordBytes = maxRecordBytes
    }

    /// Prepends bytes already read (format sniffing) to the stream.
    public func unread(_ bytes: [UInt8]) { chunk = bytes + chunk[pos...]; pos = 0 }

    /// The next non-blank line.
    public func next() throws(InputError) -> SplitItem? {
        var pending: [UInt8] = []
        var pendingLen: Int64 = 0
        var oversized = false
        var startLine = line
        var startOffset = offset
        var started = false
        while true {
            if pos >= chunk.count {
                if done { break }
                guard let c = try reader.next() else { done = true; break }
                chunk = c
                pos = 0
                continue
            }
            // Find the end of the line in the current chunk.
            let end: Int = chunk.withUnsafeBufferPointer { b in
                var i = pos
                while i < b.count, b[i] != 0x0A { i += 1 }
                return i
            }
            if !started { startLine = line; startOffset = offset; started = true }
            let piece = end - pos
            pendingLen += Int64(piece)
            if !oversized {
                if pending.count + piece > maxRecordBytes {
                    oversized = true
                    let keep = min(256 - min(256, pending.count), piece)
                    pending.append(contentsOf: chunk[pos..<(pos + keep)])
                } else {
                    pending.append(contentsOf: chunk[pos..<end])
                }
            }
            offset += Int64(piece)
            if end < chunk.count {
                // Line complete.
                pos = end + 1
                offset += 1
                line += 1
                if oversized {
                    return .oversized(line: startLine, offset: startOffset, length: pendingLen, head: Array(pending.prefix(256)))
                }
                if pending.last == 0x0D { pending.removeLast() }
                if isBlank(pending) { pending.removeAll(keepingCapacity: true); pendingLen = 0; started = false; continue }
                return .record(RawRecord(bytes: pending, line: startLine, offset: startOffset))
            }
            pos = end
        }
        // End of input without a trailing newline.
        if started {
            if oversized { return .oversized(line: startLine, offset: startOffset, length: pendingLen, head: Array(pending.prefix(256))) }
            if pending.last == 0x0D { pending.removeLast() }
            if !isBlank(pending) { return .record(RawRecord(bytes: pending, line: startLine, offset: startOffset)) }
        }
        return nil
    }

    private func isBlank(_ b: [UInt8]) -> Bool {
        b.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A || $0 == 0xEF || $0 == 0xBB || $0 == 0xBF }
    }
}

/// Streams a single JSON document: the elements of a top-level array, or of the array under
/// one of `streamKeys` (`records`, `value`) in a top-level object, one at a time. Other
/// top-level members are yielded whole as `.member`. Memory stays bounded by the largest
/// element (capped at `maxRecordBytes`), whatever the document size.
public final class DocumentSplitter {
    private let reader: ChunkReader
    private let maxRecordBytes: Int
    private let streamKeys: Set<String>
    private var chunk: [UInt8] = []
    private var pos = 0
    private var line = 1
    private var offset: Int64 = 0
    private var done = false

    private enum Top { case unknown, array, object, finished }
    private var top = Top.unknown
    /// Inside a top-level object: true while streaming the elements of a record array.
    private var inRecordArray = false
    /// Syntax error found while splitting (the document is damaged from here on).
    public private(set) var damage: String?

    public init(reader: ChunkReader, maxRecordBytes: Int, streamKeys: Set<String> = ["records", "value"]) {
        self.reader = reader
        self.maxRecordBytes = maxRecordBytes
        self.streamKeys = streamKeys
    }

    /// Prepends bytes already read (format sniffing) to the stream.
    public func unread(_ bytes: [UInt8]) { chunk = bytes + chunk[pos...]; pos = 0 }

    private func peekByte() throws(InputError) -> UInt8? {
        while pos >= chunk.count {
            if done { return nil }
            guard let c = try reader.next() else { done = true; return nil }
            chunk = c
            pos = 0
        }
        return chunk[pos]
    }

    private func advance() {
        if chunk[pos] == 0x0A { line += 1 }
        pos += 1
        offset += 1
    }

    private func skipWhitespace() throws(InputError) {
        while let b = try peekByte() {
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 || b == 0xEF || b == 0xBB || b == 0xBF { advance() } else { return }
        }
    }

    /// Captures one complete JSON value starting at the current byte.
    /// Returns nil at end of input; `.oversized` when it exceeds the cap.
    private func captureValue() throws(InputError) -> SplitItem? {
        guard try peekByte() != nil else { return nil }
        let startLine = line, startOffset = offset
        var out: [UInt8] = []
        var length: Int64 = 0
        var depth = 0
        var inString = false
        var escape = false
        var over = false
        func keep(_ b: UInt8) {
            length += 1
            if over { return }
            if out.count >= maxRecordBytes { over = true; return }
            out.append(b)
        }
        while let b = try peekByte() {
            if inString {
                keep(b); advance()
                if escape { escape = false } else if b == 0x5C { escape = true } else if b == 0x22 {
                    inString = false
                    if depth == 0 { break }  // a top-level string scalar is complete
                }
                continue
            }
            if depth == 0 && (b == 0x2C || b == 0x7D || b == 0x5D) { break }  // a scalar ended
            switch b {
            case 0x22: inString = true
            case 0x7B, 0x5B: depth += 1
            case 0x7D, 0x5D: depth -= 1
            default: break
            }
            keep(b); advance()
            if depth == 0 && (b == 0x7D || b == 0x5D) { break }
        }
        return finish(out, length, over, startLine, startOffset)
    }

    private func finish(_ out: [UInt8], _ length: Int64, _ over: Bool, _ line: Int, _ offset: Int64) -> SplitItem {
        if over { return .oversized(line: line, offset: offset, length: length, head: Array(out.prefix(256))) }
        var trimmed = out
        while let l = trimmed.last, l == 0x20 || l == 0x0A || l == 0x0D || l == 0x09 { trimmed.removeLast() }
        return .record(RawRecord(bytes: trimmed, line: line, offset: offset))
    }

    private func readKey() throws(InputError) -> String? {
        guard try peekByte() == 0x22 else { return nil }
        guard case .record(let r)? = try captureValue() else { return nil }
        return (try? JSONParser.parse(r.bytes))?.text
    }

    /// The next record or top-level member; nil at the end (or after damage, see `damage`).
    public func next() throws(InputError) -> SplitItem? {
        while true {
            try skipWhitespace()
            guard let b = try peekByte() else {
                if top != .finished && top != .unknown && damage == nil { damage = "unexpected end of document" }
                return nil
            }
            switch top {
            case .finished:
                damage = "unexpected data after the document"
                return nil
            case .unknown:
                if b == 0x5B { top = .array; advance(); continue }
                if b == 0x7B { top = .object; advance(); continue }
                damage = "not a JSON array or object"
                return nil
            case .array:
                if b == 0x2C { advance(); continue }
                if b == 0x5D { advance(); top = .finished; continue }
                return try captureValue()
            case .object:
                if inRecordArray {
                    if b == 0x2C { advance(); continue }
                    if b == 0x5D { advance(); inRecordArray = false; continue }
                    return try captureValue()
                }
                if b == 0x2C { advance(); continue }
                if b == 0x7D { advance(); top = .finished; continue }
                guard let key = try readKey() else { damage = "expected a member name at byte \(offset)"; return nil }
                try skipWhitespace()
                guard try peekByte() == 0x3A else { damage = "expected ':' at byte \(offset)"; return nil }
                advance()
                try skipWhitespace()
                if streamKeys.contains(key), try peekByte() == 0x5B {
                    advance()
                    inRecordArray = true
                    return .member(key: key, bytes: Array("[]".utf8))  // marks where records come from
                }
                guard let item = try captureValue() else { damage = "unexpected end of document"; return nil }
                switch item {
                case .record(let r): return .member(key: key, bytes: r.bytes)
                default: return item
                }
            }
        }
    }
}
