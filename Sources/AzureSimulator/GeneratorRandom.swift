#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The generator's pseudo-random numbers: xoshiro256** seeded through SplitMix64.
///
/// Fast, and identical on every platform for a given seed, so generated data sets are
/// reproducible byte for byte. Not for anything secret.
struct GeneratorRandom {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// A generator for `seed`; `stream` separates independent sequences drawn from one seed
    /// (topology, requests and activity), so changing one part of the options leaves the others alone.
    init(seed: UInt64, stream: UInt64) {
        var x = seed ^ (stream &* 0xA076_1D64_78BD_642F)
        s0 = Self.splitMix(&x)
        s1 = Self.splitMix(&x)
        s2 = Self.splitMix(&x)
        s3 = Self.splitMix(&x)
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    private static func splitMix(_ x: inout UInt64) -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always) private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// The next 64 random bits.
    @inline(__always) mutating func next() -> UInt64 {
        let result = Self.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = Self.rotl(s3, 45)
        return result
    }

    /// A uniform integer in `0..<bound` (`bound` > 0; Lemire's multiply-shift, bias negligible here).
    @inline(__always) mutating func int(_ bound: Int) -> Int {
        Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A uniform integer in `range`.
    @inline(__always) mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + int(range.upperBound - range.lowerBound + 1)
    }

    /// A uniform Int64 in `0..<bound` (`bound` > 0).
    @inline(__always) mutating func int64(_ bound: Int64) -> Int64 {
        Int64(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A uniform double in `[0, 1)`.
    @inline(__always) mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// True with probability `p`.
    @inline(__always) mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// A log-normal-ish positive value around `median`: `median * e^(sigma * N(0,1))`,
    /// with the normal approximated by a sum of uniforms (cheap, and bounded, so no wild outliers).
    mutating func spread(median: Double, sigma: Double) -> Double {
        let n = (unit() + unit() + unit() + unit() - 2.0) * 1.7320508  // ~N(0,1), within ±3.46
        return median * exp(sigma * n)
    }

    /// One element of a non-empty array.
    mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }

    /// An index drawn by weight (`weights` non-empty, sum > 0).
    mutating func weighted(_ cumulative: [Double]) -> Int {
        let total = cumulative[cumulative.count - 1]
        let x = unit() * total
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] > x { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    /// Running sums of `weights`, the input of `weighted(_:)`.
    static func cumulative(_ weights: [Double]) -> [Double] {
        var sum = 0.0
        return weights.map { sum += $0; return sum }
    }

    /// A random version-4 GUID.
    mutating func guid() -> GeneratorGUID {
        GeneratorGUID(hi: (next() & ~0xF000) | 0x4000, lo: (next() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000)
    }
}

/// A GUID as two 64-bit halves, formatted `8-4-4-4-12` in hex.
struct GeneratorGUID: Sendable, Equatable {
    var hi: UInt64
    var lo: UInt64

    /// Lower-case `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`.
    var text: String { format(upper: false, dashes: true) }
    /// Upper-case with dashes (the export shape's upper-cased resource ids).
    var upper: String { format(upper: true, dashes: true) }

    func format(upper: Bool, dashes: Bool) -> String {
        var buffer = GeneratorBuffer(capacity: 36)
        buffer.guid(self, upper: upper, dashes: dashes)
        return String(decoding: buffer.bytes, as: UTF8.self)
    }
}
