import Foundation

/// Turns a byte stream into a file's bytes on worker threads, written in order, in constant
/// memory: the input is cut into blocks (1 MiB), the blocks are compressed in parallel and a
/// block's output is handed to the sink as soon as every block before it has been.
///
/// **Format.** With `.gzip` the result is *one* gzip member (RFC 1952), made the way pigz makes
/// it: each block is raw deflate primed with the 32 KiB of input before it as a preset
/// dictionary, so matches reach back across block boundaries exactly as in a single-threaded
/// stream; every block but the last ends with a sync flush (an empty stored block, byte
/// aligned) and the last one with the final deflate block. Concatenated, the blocks are one
/// valid deflate stream; the header is written once, and the trailer carries the CRC-32 of all
/// the input (the blocks' CRCs joined with `crc32_combine`) and its length. Cost against a
/// single `deflate` stream at the same level: about 0.1 % in size on export CSV (5 M rollup rows: 45.69 MB vs 45.64 MB) (the flush
/// markers and the restart of each block's match search); speed: the blocks compress on
/// `workers` threads.
///
/// **Why one member rather than one member per block.** Concatenated members (`pigz -i`'s
/// independence, bgzip's layout) are legal gzip (RFC 1952 §2.2), but a member cannot use the
/// previous member's bytes as a dictionary: gzip has no preset-dictionary flag and zlib refuses
/// `deflateSetDictionary` on a gzip-wrapped stream; independent 1 MiB members cost about
/// 0.9 % in size on export CSV (0.24 % at 4 MiB, at four times the memory). And a single member
/// needs nobody's multi-member support.
///
/// **SIEM readers.** The file is an ordinary single-member gzip file: zlib's own 10-byte
/// header, one deflate stream (whose empty stored blocks at the block ends are plain deflate,
/// as any `Z_SYNC_FLUSH` stream has), the CRC-32 and length trailer; it decompresses to exactly
/// the bytes written. Every reader in the README's SIEM section therefore reads it as before:
/// Splunk's monitor input (which decompresses `.gz` files itself), Elastic Filebeat
/// `filestream` with `compression: gzip` (Go's `compress/gzip`, which would read concatenated
/// members too), and `gzip -d`, `zcat`, Python's `gzip`. Azure Monitor Agent reads only plain
/// files, exported with `--compress none`, which skip compression entirely.
///
/// **Memory.** At most `2 × (workers + 1) + 4` blocks exist (8 with the default single worker
/// on 2 cores; 3 without compression), each with its input, a 32 KiB dictionary and its
/// compressed output, reused for the whole file: about 9 MiB on CSV, whatever the size of the
/// file.
///
/// **Threads.** `workers` threads compress; the producer (the thread calling `write`)
/// compresses a block itself when blocks wait that no worker has started. The sink is called
/// by whichever of them holds the writer role, never by two at once, in stream order. With
/// `.none` one worker writes the blocks unchanged (the disk write and hashing still overlap
/// the producer's work).
public final class BlockWriter {
    public enum Compression: Sendable, Equatable {
        /// The blocks as they are.
        case none
        /// One gzip member at this deflate level (0–9).
        case gzip(level: Int32)
    }

    /// Input bytes per block.
    public static let defaultBlockSize = 1 << 20
    /// The size of deflate's window: the dictionary each block is primed with.
    static let dictionarySize = 1 << 15

    /// Compression threads besides the producer: the environment variable
    /// `AOAI_AUDIT_GZIP_WORKERS` (1–64) when set, else one fewer than the active processors
    /// (at least 1, at most 3). The producer (the SQLite query and the CSV encoding, one thread)
    /// needs a core too, and it compresses a block itself whenever the workers fall behind
    /// (`Shared.helpBacklog`), so the busy threads match the cores instead of outnumbering
    /// them. One producer makes CSV about as fast as two deflate threads at level 6 consume it:
    /// more than 3 workers would only hold memory. On 2 cores (measured in Benchmarks/README.md,
    /// 5 M rows, medians of 8): 1 worker + the producer's help 5.33 s (CPU 187 % busy); 2
    /// workers without help 5.62 s (182 %; three busy threads on two cores: a worker preempted
    /// in mid-block holds up the blocks after it); 1 worker without help 5.66 s (176 %).
    public static var defaultWorkers: Int {
        if let text = ProcessInfo.processInfo.environment["AOAI_AUDIT_GZIP_WORKERS"], let n = Int(text), (1...64).contains(n) { return n }
        return min(3, max(1, ProcessInfo.processInfo.activeProcessorCount - 1))
    }

    private let shared: Shared
    private let blockSize: Int
    /// The block being filled by the producer.
    private var current: Job
    private var submitted = 0
    private var closed = false
    /// The producer's own compressor: it compresses a block itself when the workers fall behind.
    private var helper: DeflateBlockCompressor?

    /// - Parameters:
    ///   - compression: gzip at a level, or none.
    ///   - workers: compression threads besides the producer (1 with `.none`, whatever is given).
    ///   - blockSize: input bytes per block.
    ///   - sink: receives the output in order, one call at a time, on a worker thread or the
    ///     producer's.
    public init(compression: Compression, workers: Int = BlockWriter.defaultWorkers, blockSize: Int = BlockWriter.defaultBlockSize,
                sink: @escaping @Sendable (UnsafeBufferPointer<UInt8>) throws -> Void) throws(ExportError) {
        precondition(blockSize > 0, "blockSize must be positive")
        self.blockSize = blockSize
        var compressors: [DeflateBlockCompressor?] = []
        let count: Int
        switch compression {
        case .none:
            count = 1
            compressors = [nil]
        case .gzip(let level):
            count = max(1, workers)
            for _ in 0..<count { compressors.append(try DeflateBlockCompressor(level: level)) }
        }
        let header: [UInt8]
        if case .gzip(let level) = compression { header = GzipFraming.header(level: level) } else { header = [] }
        // Slack beyond one block per thread, so that a thread preempted in mid-block does not
        // stall the others (the blocks after it wait in order); plain blocks only wait for the disk.
        shared = Shared(maxJobs: compression == .none ? 3 : 2 * (count + 1) + 4, header: header, gzip: compression != .none, sink: sink)
        current = Job(blockSize: blockSize)
        shared.created = 1
        if case .gzip(let level) = compression { helper = try DeflateBlockCompressor(level: level) }
        for c in compressors { shared.start(compressor: c) }
    }

    deinit { shared.stop() }

    /// Appends bytes to the stream.
    public func write(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        guard !closed else { throw ExportError.io(path: "-", message: "write after finish") }
        var rest = bytes
        while !rest.isEmpty {
            let n = min(blockSize - current.input.count, rest.count)
            current.input.append(contentsOf: UnsafeBufferPointer(rebasing: rest[..<n]))
            rest = UnsafeBufferPointer(rebasing: rest[n...])
            if current.input.count == blockSize { try submitCurrent(last: false) }
        }
    }

    /// Appends bytes to the stream.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBufferPointer { try write($0) }
    }

    /// Compresses and writes what is left, then the gzip trailer; returns once the sink has
    /// received everything. The writer is done afterwards (its threads have ended).
    public func finish() throws {
        guard !closed else { throw ExportError.io(path: "-", message: "finish called twice") }
        try submitCurrent(last: true)
        closed = true
        defer { shared.stop() }
        try shared.drain(upTo: submitted)
    }

    /// Stops the threads without writing what is pending (an abandoned file). Idempotent.
    public func abandon() {
        closed = true
        shared.stop()
    }

    /// Hands the current block to the workers and starts the next one (primed with the tail
    /// of the stream so far when compressing).
    private func submitCurrent(last: Bool) throws {
        let job = current
        job.last = last
        job.seq = submitted
        if !last {
            let next = try shared.takeFreeJob(blockSize: blockSize)
            next.input.removeAll(keepingCapacity: true)
            next.dictionary.removeAll(keepingCapacity: true)
            if shared.gzip {
                // The last 32 KiB of everything before `next`: this block, and the end of
                // its own dictionary when the block is shorter than the window.
                let k = Self.dictionarySize
                if job.input.count < k { next.dictionary.append(contentsOf: job.dictionary.suffix(k - job.input.count)) }
                next.dictionary.append(contentsOf: job.input.suffix(k))
            }
            current = next
        }
        try shared.submit(job)
        submitted += 1
        if let helper { try shared.help(helper) }
    }

    // MARK: - Shared state

    /// One block: its input, the dictionary it is primed with, its output.
    /// `@unchecked Sendable`: owned by one thread at a time, handed over under `Shared.lock`.
    final class Job: @unchecked Sendable {
        var seq = 0
        var input: [UInt8] = []
        var dictionary: [UInt8] = []
        var output: [UInt8] = []
        var outputCount = 0
        var crc: UInt32 = 0
        var last = false

        init(blockSize: Int) {
            input.reserveCapacity(blockSize)
        }
    }

    /// The queues between the producer and the workers. `@unchecked Sendable`: every
    /// variable is read and written under `lock`, except `crc`, `total` and `headerWritten`,
    /// which only the thread holding the writer role (`writing`, taken under `lock`) touches.
    final class Shared: @unchecked Sendable {
        let lock = NSCondition()
        let maxJobs: Int
        var created = 0
        var free: [Job] = []
        var queue: [Job] = []
        var done: [Int: Job] = [:]
        var nextToWrite = 0
        var writing = false
        var stopping = false
        var failure: (any Error)?
        let threads = DispatchGroup()
        let header: [UInt8]
        let gzip: Bool
        let sink: @Sendable (UnsafeBufferPointer<UInt8>) throws -> Void
        var headerWritten = false
        var crc: UInt32 = 0
        var total: Int64 = 0

        init(maxJobs: Int, header: [UInt8], gzip: Bool, sink: @escaping @Sendable (UnsafeBufferPointer<UInt8>) throws -> Void) {
            self.maxJobs = maxJobs
            self.header = header
            self.gzip = gzip
            self.sink = sink
        }

        func start(compressor: DeflateBlockCompressor?) {
            threads.enter()
            let t = Thread { [self] in
                defer { threads.leave() }
                work(compressor)
            }
            t.name = "aoai-audit.export.deflate"
            t.start()
        }

        /// Stops the workers once they finish the block in hand, and waits for them. Idempotent.
        func stop() {
            lock.lock()
            stopping = true
            lock.broadcast()
            lock.unlock()
            threads.wait()
        }

        func takeFreeJob(blockSize: Int) throws -> Job {
            lock.lock()
            defer { lock.unlock() }
            while free.isEmpty && created >= maxJobs && failure == nil { lock.wait() }
            if let failure { throw failure }
            if let j = free.popLast() { return j }
            created += 1
            return Job(blockSize: blockSize)
        }

        func submit(_ job: Job) throws {
            lock.lock()
            defer { lock.unlock() }
            if let failure { throw failure }
            queue.append(job)
            lock.broadcast()
        }

        /// Waits until `count` blocks are written (or a write failed), then writes the trailer.
        func drain(upTo count: Int) throws {
            lock.lock()
            while nextToWrite < count && failure == nil && !stopping { lock.wait() }
            let failure = self.failure
            lock.unlock()
            if let failure { throw failure }
            // Every block is written and no worker holds the writer role any more.
            if !headerWritten { try emit(header) }
            if gzip { try emit(GzipFraming.trailer(crc: crc, size: total)) }
        }

        private func emit(_ bytes: [UInt8]) throws {
            headerWritten = true
            guard !bytes.isEmpty else { return }
            try bytes.withUnsafeBufferPointer { try sink($0) }
        }

        /// Called by the producer after each block it submits: when `helpBacklog` blocks wait
        /// that no worker has started (every worker is busy), it compresses the oldest itself.
        func help(_ compressor: DeflateBlockCompressor) throws {
            lock.lock()
            guard queue.count >= Self.helpBacklog, failure == nil else {
                lock.unlock()
                return
            }
            let job = queue.removeFirst()
            lock.unlock()
            compress(job, with: compressor)
            complete(job)
        }

        /// Waiting blocks that make the producer compress one itself. 2: with 1, the producer
        /// would take back the block it has just queued before a worker could wake up.
        static let helpBacklog = 2

        private func compress(_ job: Job, with compressor: DeflateBlockCompressor) {
            do {
                try job.input.withUnsafeBufferPointer { input in
                    job.crc = GzipFraming.crc(input)
                    try job.dictionary.withUnsafeBufferPointer { d in
                        job.outputCount = try compressor.compress(input, dictionary: d, last: job.last, into: &job.output)
                    }
                }
            } catch {
                fail(error)
            }
        }

        private func work(_ compressor: DeflateBlockCompressor?) {
            while true {
                lock.lock()
                while queue.isEmpty && !stopping { lock.wait() }
                if stopping {
                    lock.unlock()
                    return
                }
                let job = queue.removeFirst()
                let skip = failure != nil
                lock.unlock()
                if !skip, let compressor { compress(job, with: compressor) }
                complete(job)
            }
        }

        private func fail(_ error: any Error) {
            lock.lock()
            if failure == nil { failure = error }
            lock.broadcast()
            lock.unlock()
        }

        /// Files a compressed block; whichever worker finds the writer role free writes every
        /// block that is next in order, releasing the lock around each sink call.
        private func complete(_ job: Job) {
            lock.lock()
            done[job.seq] = job
            guard !writing else {
                lock.unlock()
                return
            }
            writing = true
            while let j = done.removeValue(forKey: nextToWrite) {
                let skip = failure != nil
                lock.unlock()
                var error: (any Error)?
                if !skip {
                    do { try write(j) } catch let e { error = e }
                }
                lock.lock()
                if let error, failure == nil { failure = error }
                nextToWrite += 1
                free.append(j)
                lock.broadcast()
            }
            writing = false
            lock.unlock()
        }

        private func write(_ j: Job) throws {
            if !headerWritten { try emit(header) }
            if gzip {
                crc = GzipFraming.combine(crc, j.crc, lengthOfB: j.input.count)
                try j.output.withUnsafeBufferPointer { try sink(UnsafeBufferPointer(rebasing: $0[0..<j.outputCount])) }
            } else if !j.input.isEmpty {
                try j.input.withUnsafeBufferPointer { try sink($0) }
            }
            total += Int64(j.input.count)
        }
    }
}
