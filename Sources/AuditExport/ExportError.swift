import AuditCore
import Foundation

/// Errors while exporting datasets to files. Each description says what failed, on what, and
/// what to do; none carries a cell value (cells may hold UPNs and IPs).
public enum ExportError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    case zlib(code: Int32, message: String)
    case io(path: String, message: String)
    case unknownDataset(name: String, available: [String])
    case badDataset(name: String, message: String)
    case badWindow(message: String)
    /// The watermark changed under us: another export of the same dataset ran at the same time.
    case concurrentExport(dataset: String)
    /// A half-finished export from an earlier (crashed) run could not be completed.
    case recovery(path: String, message: String)

    public var description: String {
        switch self {
        case .zlib(let code, let message): return "compression failed (zlib \(code)): \(message)"
        case .io(let path, let message): return "cannot write \(path): \(message); check free space and the folder's permissions"
        case .unknownDataset(let name, let available):
            return "no export dataset '\(name)'; try one of: \(available.joined(separator: ", "))"
        case .badDataset(let name, let message): return "export dataset '\(name)' is invalid: \(message)"
        case .badWindow(let message): return "bad export window: \(message)"
        case .concurrentExport(let dataset):
            return "the watermark of dataset '\(dataset)' changed during the export: another export ran at the same time; run exports one at a time (aoai-audit run takes a lock)"
        case .recovery(let path, let message):
            return "cannot complete the interrupted export of \(path): \(message); move the file away and run the export again"
        }
    }

    public var errorDescription: String? { description }
}
