import AuditCore
import AuditStore
import Dispatch
import Foundation

/// Writes batches on a thread of its own while the importing thread reads and parses the next
/// ones, so parsing (both cores) and SQLite writing overlap. Batches that queue up while a
/// transaction runs are written together in the next one (thousands of small PT1H.json files
/// become a few large transactions). At most `depth` batches wait, which bounds memory.
///
/// `@unchecked Sendable`: the `StoreWriter` (and its SQLite connection) is touched only by
/// the drain loop on the serial `queue`; `pending`, `scheduled`, the results and the error are
/// guarded by `lock`; the semaphore bounds the queue.
final class WritePipeline: @unchecked Sendable {
    private typealias Item = (batch: RecordBatch, input: Int, checkpoint: (key: String, value: String)?)

    private let writer: StoreWriter
    private let queue = DispatchQueue(label: "aoai-audit.import.writer")
    private let slots: DispatchSemaphore
    private let lock = NSLock()
    private var pending: [Item] = []
    private var scheduled = false
    private var counts: [Int: WriteCounts] = [:]
    private var failure: (any Error)?
    private let source: String
    private let runID: Int64?
    /// Most records written in one transaction.
    private let maxRecordsPerTransaction = 100_000

    init(writer: StoreWriter, source: String, runID: Int64?, depth: Int = 16) {
        self.writer = writer
        self.source = source
        self.runID = runID
        slots = DispatchSemaphore(value: depth)
    }

    /// The first write error, if any (later batches are dropped once one failed).
    var error: (any Error)? { lock.lock(); defer { lock.unlock() }; return failure }

    /// Queues `batch` (and its checkpoint) for input number `input`; blocks while `depth`
    /// batches are already waiting. Throws the first write error seen so far.
    func submit(_ batch: RecordBatch, input: Int, checkpoint: (key: String, value: String)?) throws {
        if let e = error { throw e }
        slots.wait()
        lock.lock()
        pending.append((batch, input, checkpoint))
        let start = !scheduled
        scheduled = true
        lock.unlock()
        if start { queue.async { [self] in drainLoop() } }
    }

    private func drainLoop() {
        while true {
            lock.lock()
            guard !pending.isEmpty else { scheduled = false; lock.unlock(); return }
            var take = 0
            var records = 0
            while take < pending.count && (take == 0 || records + pending[take].batch.read <= maxRecordsPerTransaction) {
                records += pending[take].batch.read
                take += 1
            }
            let items = Array(pending.prefix(take))
            pending.removeFirst(take)
            let failed = failure != nil
            lock.unlock()
            if !failed {
                do {
                    let results = try writer.write(items.map { (batch: $0.batch, checkpoint: $0.checkpoint) }, source: source, runID: runID)
                    lock.lock()
                    for (item, c) in zip(items, results) { counts[item.input, default: WriteCounts()] += c }
                    lock.unlock()
                } catch {
                    lock.lock(); if failure == nil { failure = error }; lock.unlock()
                }
            }
            for _ in items { slots.signal() }
        }
    }

    /// Waits for every queued batch; throws the first write error.
    func drain() throws {
        while true {
            queue.sync {}
            lock.lock()
            let idle = pending.isEmpty && !scheduled
            lock.unlock()
            if idle { break }
        }
        if let e = error { throw e }
    }

    /// What was written for input number `input` (after `drain`).
    func counts(for input: Int) -> WriteCounts {
        lock.lock(); defer { lock.unlock() }
        return counts[input] ?? WriteCounts()
    }
}
