extension String {
    /// The string without leading and trailing ASCII spaces, tabs and line breaks.
    public var trimmingSpaces: String {
        let utf8 = self.utf8
        guard let first = utf8.firstIndex(where: { !Self.isSpace($0) }) else { return "" }
        let last = utf8.lastIndex(where: { !Self.isSpace($0) })!
        if first == utf8.startIndex && last == utf8.index(before: utf8.endIndex) { return self }
        return String(self[first...last])
    }

    @inline(__always) static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    /// ASCII case-insensitive equality (Azure keys and ids are ASCII).
    public func caseInsensitiveEquals(_ other: String) -> Bool {
        let a = self.utf8, b = other.utf8
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where x != y {
            let lx = (x >= 0x41 && x <= 0x5A) ? x | 0x20 : x
            let ly = (y >= 0x41 && y <= 0x5A) ? y | 0x20 : y
            if lx != ly { return false }
        }
        return true
    }

    /// ASCII lower-casing (fast path for ARM ids; non-ASCII text is left as is).
    public var asciiLowercased: String {
        var copy = self
        return copy.withUTF8 { buf -> String in
            guard buf.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return self }
            return String(unsafeUninitializedCapacity: buf.count) { out in
                for i in 0..<buf.count {
                    let b = buf[i]
                    out[i] = (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b
                }
                return buf.count
            }
        }
    }

    /// The first `count` characters, with an ellipsis when cut.
    /// True for a GUID in its 8-4-4-4-12 hex form (subscription, workspace, object ids).
    public var isGUID: Bool {
        let parts = split(separator: "-", omittingEmptySubsequences: false)
        return parts.map(\.count) == [8, 4, 4, 4, 12] && allSatisfy { $0.isHexDigit || $0 == "-" }
    }

    public func prefixForDisplay(_ count: Int) -> String {
        self.count <= count ? self : String(prefix(count)) + "…"
    }
}

extension Substring {
    /// The substring without leading and trailing ASCII whitespace, as a String.
    public var trimmingSpaces: String { String(self).trimmingSpaces }
}
