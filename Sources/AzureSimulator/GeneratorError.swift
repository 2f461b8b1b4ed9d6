/// Why the generator stopped.
public enum GeneratorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An option is out of range; the text names it.
    case invalidOptions(String)
    /// A directory could not be created (path, errno).
    case cannotCreateDirectory(path: String, errno: Int32)
    /// A file could not be opened or written (path, errno).
    case cannotWrite(path: String, errno: Int32)

    /// A one-line explanation naming the option or path.
    public var description: String {
        switch self {
        case .invalidOptions(let text): return "invalid generator options: \(text)"
        case .cannotCreateDirectory(let path, let code): return "cannot create directory \(path) (errno \(code))"
        case .cannotWrite(let path, let code): return "cannot write \(path) (errno \(code))"
        }
    }
}
