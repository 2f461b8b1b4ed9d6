import AuditCore
import Foundation

/// Python dependency files: pip requirement files, PEP 508 strings, `poetry.lock`/`uv.lock` and
/// `pyproject.toml` (PEP 621, PEP 735 groups, Poetry tables), read with a small TOML subset.
extension LockfileParsers {
    // MARK: - Requirement files

    /// A pip requirements file: one PEP 508 requirement per line; `#` comments (at line start or
    /// after a space), `\` continuations, option lines (`-r`, `-c`, `-e`, `--index-url` …) and
    /// per-requirement options (`--hash=…`) are skipped; environment markers are dropped.
    static func requirementsTxt(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        var pending = ""
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            var line = String(rawLine)
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
                continue
            }
            line = pending + line
            pending = ""
            line = withoutComment(line).trimmingSpaces
            guard !line.isEmpty, !line.hasPrefix("-") else { continue }
            if let option = line.range(of: " --") ?? line.range(of: "\t--") {
                line = String(line[..<option.lowerBound])
            }
            guard let req = parseRequirement(line) else { continue }
            keepFirst(&out, trackedPython(req.name), req.spec)
        }
        return out
    }

    /// The line without a `#` comment that starts the line or follows whitespace (`#egg=` in a
    /// URL is not a comment).
    private static func withoutComment(_ line: String) -> String {
        var previous: Character = " "
        for i in line.indices {
            if line[i] == "#" && (previous == " " || previous == "\t") { return String(line[..<i]) }
            previous = line[i]
        }
        return line
    }

    /// Splits a PEP 508 requirement into its distribution name and version spec.
    ///
    /// `openai[datalib] >= 1.3, < 2 ; python_version > "3.8"` → (`openai`, `>=1.3,<2`);
    /// `openai==1.40.0` → (`openai`, `1.40.0`); `openai` → (`openai`, `*`);
    /// `openai @ https://…` → (`openai`, `@ https://…`).
    static func parseRequirement(_ text: String) -> (name: String, spec: String)? {
        var rest = Substring(text.trimmingSpaces)
        if let marker = rest.firstIndex(of: ";") { rest = rest[..<marker] }
        let nameEnd =
            rest.firstIndex(where: { !($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") })
            ?? rest.endIndex
        let name = String(rest[..<nameEnd])
        guard !name.isEmpty else { return nil }
        rest = rest[nameEnd...].drop(while: { $0 == " " || $0 == "\t" })
        if rest.first == "[" {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            rest = rest[rest.index(after: close)...]
        }
        var spec = String(rest).trimmingSpaces
        if spec.hasPrefix("@") { return (name, "@ " + String(spec.dropFirst()).trimmingSpaces) }
        if spec.hasPrefix("(") && spec.hasSuffix(")") { spec = String(spec.dropFirst().dropLast()) }
        spec.removeAll(where: { $0 == " " || $0 == "\t" })
        return (name, normalizedPythonSpec(spec))
    }

    /// `==1.40.0` and `===1.40.0` → `1.40.0`; `` → `*`; anything else (ranges, `==1.*`) as is.
    static func normalizedPythonSpec(_ raw: String) -> String {
        let spec = raw.trimmingSpaces
        if spec.isEmpty { return "*" }
        for op in ["===", "=="] where spec.hasPrefix(op) {
            let version = spec.dropFirst(op.count)
            if !version.isEmpty && !version.contains(",") && !version.contains("*") { return String(version) }
            break
        }
        return spec
    }

    // MARK: - poetry.lock / uv.lock

    /// `[[package]]` tables with `name` and `version` (the package's own table only; its
    /// `[package.dependencies]` and other sub-tables are skipped).
    static func tomlLock(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        var inPackage = false
        var name: String?
        var version: String?
        func flush() {
            if let name, let version { keepFirst(&out, trackedPython(name), version) }
            name = nil
            version = nil
        }
        for statement in TOML.statements(text) {
            switch statement {
            case .header(let table, let isArray):
                flush()
                inPackage = isArray && table == ["package"]
            case .pair(let key, let value) where inPackage:
                if key == ["name"] { name = TOML.string(value) }
                if key == ["version"] { version = TOML.string(value) }
            case .pair:
                break
            }
        }
        flush()
        return out
    }

    // MARK: - pyproject.toml

    /// PEP 621 `[project] dependencies` and `optional-dependencies`, PEP 735
    /// `[dependency-groups]`, `[tool.uv] dev-dependencies`, and Poetry's
    /// `[tool.poetry.dependencies]`, `[tool.poetry.dev-dependencies]`,
    /// `[tool.poetry.group.<g>.dependencies]` (string, inline table or sub-table forms).
    static func pyproject(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        var table: [String] = []
        func addPEP508(_ value: String) {
            for item in TOML.strings(inArray: value) {
                if let req = parseRequirement(item) { keepFirst(&out, trackedPython(req.name), req.spec) }
            }
        }
        for statement in TOML.statements(text) {
            switch statement {
            case .header(let name, _):
                table = name
            case .pair(let key, let value):
                let path = table + key
                if path == ["project", "dependencies"] || path == ["tool", "uv", "dev-dependencies"] {
                    addPEP508(value)
                } else if (path.count == 2 && path[0] == "dependency-groups")
                    || (path.count == 3 && path[0] == "project" && path[1] == "optional-dependencies")
                {
                    addPEP508(value)
                } else if let package = poetryPackage(path) {
                    let spec = TOML.string(value) ?? TOML.inlineTableVersion(value)
                    keepFirst(&out, trackedPython(package), spec?.trimmingSpaces)
                }
            }
        }
        return out
    }

    /// The package a Poetry dependency key path names: `tool.poetry[.group.<g>].dependencies.<pkg>`,
    /// `tool.poetry.dev-dependencies.<pkg>`, or the sub-table form `….dependencies.<pkg>.version`.
    private static func poetryPackage(_ path: [String]) -> String? {
        guard path.count >= 4, path[0] == "tool", path[1] == "poetry" else { return nil }
        var rest = Array(path.dropFirst(2))
        if rest.first == "group" {
            guard rest.count >= 3 else { return nil }
            rest.removeFirst(2)
        }
        guard let section = rest.first, section == "dependencies" || section == "dev-dependencies" else { return nil }
        if rest.count == 2 { return rest[1] }
        if rest.count == 3 && rest[2] == "version" { return rest[1] }
        return nil
    }
}
