import AuditCore
import AuditStore
import Dispatch
import Foundation

/// Writes batches on a thread of its own while the importing thread reads and parses the next
/// ones, so parsing (both cores) and SQLite writing overlap. At most `depth` batches wait.
///
/// `@unchecked Sendable`: the `StoreWriter` (and its SQLite connection) is touched only by
/// blocks on the serial `queue`; the result and error slots are guarded by `lock`; the
/// semaphore bounds memory.
final class WritePipeline: @unchecked Sendable {
    private let writer: StoreWriter
    private let queue = DispatchQueue(label: "aoai-audit.import.writer")
    private let slots: DispatchSemaphore
    private let lock = NSLock()
    private var counts: [Int: WriteCounts] = [:]
    private var failure: (any Error)?
    private let source: String
    private let runID: Int64?

    init(writer: StoreWriter, source: String, runID: Int64?, depth: Int = 2) {
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
        queue.async { [self] in
            defer { slots.signal() }
            if error != nil { return }
            do {
                let c = try writer.write(batch, source: source, runID: runID, checkpoint: checkpoint)
                lock.lock(); counts[input, default: WriteCounts()] += c; lock.unlock()
            } catch {
                lock.lock(); if failure == nil { failure = error }; lock.unlock()
            }
        }
    }

    /// Waits for every queued batch; throws the first write error.
    func drain() throws {
        queue.sync {}
        if let e = error { throw e }
    }

    /// What was written for input number `input` (after `drain`).
    func counts(for input: Int) -> WriteCounts {
        lock.lock(); defer { lock.unlock() }
        return counts[input] ?? WriteCounts()
    }
}
