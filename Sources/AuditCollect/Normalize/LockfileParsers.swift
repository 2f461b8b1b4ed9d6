import AuditCore
import Foundation

/// Targeted readers for the dependency files of Python, npm, .NET, Go and Maven projects.
///
/// Only the SDK packages that decide how an app authenticates to Azure OpenAI are tracked:
///
/// | ecosystem | packages (the key spelling `versions` returns) |
/// |---|---|
/// | Python (PEP 503 names) | `openai`, `azure-identity`, `langchain-openai` |
/// | npm | `openai`, `@azure/openai`, `@azure/identity`, `@langchain/openai` |
/// | NuGet | `Azure.AI.OpenAI`, `Azure.Identity`, `OpenAI` |
/// | Go | `github.com/openai/openai-go`, `github.com/Azure/azure-sdk-for-go/sdk/ai/azopenai`, `github.com/Azure/azure-sdk-for-go/sdk/azidentity` |
/// | Maven | `com.azure:azure-ai-openai`, `com.azure:azure-identity`, `com.openai:openai-java` |
///
/// A file pinning an exact version yields the version (`1.40.0`); a range yields the spec text
/// without spaces (`>=1.3,<2`, `^4.70.0`, `[2.0.0, )`); a Python requirement without any
/// version yields `*`. Readers never throw: an unreadable file yields an empty map, which the
/// history reader treats like a file without tracked packages.
public enum LockfileParsers {
    /// The file formats recognised by name.
    enum Format: Sendable, Hashable {
        case requirements, poetryLock, pipfileLock, pyproject
        case packageJSON, packageLock
        case msbuild, nugetLock
        case goMod
        case pom
    }

    /// Whether `path` (a repository-relative or absolute path) names a dependency file we read.
    ///
    /// Recognised: `requirements*.txt` and `requirements/*.txt`, `poetry.lock`, `uv.lock`,
    /// `Pipfile.lock`, `pyproject.toml`, `package.json`, `package-lock.json`,
    /// `npm-shrinkwrap.json`, `*.csproj`, `Directory.Packages.props`, `packages.lock.json`,
    /// `go.mod` and `pom.xml`. Anything under a `node_modules/` folder is ignored (vendored
    /// packages' own manifests would read as the app's dependencies).
    public static func isLockfile(_ path: String) -> Bool { format(of: path) != nil }

    /// The tracked packages found in one dependency file.
    ///
    /// - Parameters:
    ///   - path: the file's path; only its name decides the format.
    ///   - content: the file's text.
    /// - Returns: package name (as the ecosystem spells it, see the type's table) → version or spec.
    public static func versions(path: String, content: String) -> [String: String] {
        guard let format = format(of: path) else { return [:] }
        return versions(format: format, content: content)
    }

    /// The tracked packages of a file whose format is known.
    static func versions(format: Format, content: String) -> [String: String] {
        guard mentionsTrackedName(content) else { return [:] }
        let text = content.hasPrefix("\u{FEFF}") ? String(content.dropFirst()) : content
        switch format {
        case .requirements: return requirementsTxt(text)
        case .poetryLock: return tomlLock(text)
        case .pyproject: return pyproject(text)
        case .pipfileLock: return pipfileLock(text)
        case .packageJSON: return packageJSON(text)
        case .packageLock: return packageLock(text)
        case .msbuild: return msbuild(text)
        case .nugetLock: return nugetLock(text)
        case .goMod: return goMod(text)
        case .pom: return pom(text)
        }
    }

    /// The format of `path`, decided by its file name (and, for `requirements/*.txt`, its folder).
    static func format(of path: String) -> Format? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard let last = parts.last else { return nil }
        if parts.contains("node_modules") { return nil }
        let name = String(last)
        switch name {
        case "poetry.lock", "uv.lock": return .poetryLock
        case "Pipfile.lock": return .pipfileLock
        case "pyproject.toml": return .pyproject
        case "package.json": return .packageJSON
        case "package-lock.json", "npm-shrinkwrap.json": return .packageLock
        case "packages.lock.json": return .nugetLock
        case "Directory.Packages.props": return .msbuild
        case "go.mod": return .goMod
        case "pom.xml": return .pom
        default: break
        }
        if name.asciiLowercased.hasSuffix(".csproj") { return .msbuild }
        if name.hasSuffix(".txt") {
            if name.hasPrefix("requirements") { return .requirements }
            if parts.count >= 2 && parts[parts.count - 2] == "requirements" { return .requirements }
        }
        return nil
    }

    /// Git pathspecs matching the same files as `isLockfile` (it stays the final filter).
    static let gitPathspecs: [String] = [
        ":(glob)**/requirements*.txt", ":(glob)**/requirements/*.txt", ":(glob)**/poetry.lock",
        ":(glob)**/uv.lock", ":(glob)**/Pipfile.lock", ":(glob)**/pyproject.toml", ":(glob)**/package.json",
        ":(glob)**/package-lock.json", ":(glob)**/npm-shrinkwrap.json", ":(glob,icase)**/*.csproj",
        ":(glob)**/Directory.Packages.props", ":(glob)**/packages.lock.json", ":(glob)**/go.mod",
        ":(glob)**/pom.xml", ":(exclude,glob)**/node_modules/**",
    ]

    // MARK: - Tracked names

    private static let pythonNames: Set<String> = ["openai", "azure-identity", "langchain-openai"]
    private static let npmNames: Set<String> = ["openai", "@azure/openai", "@azure/identity", "@langchain/openai"]
    private static let nugetNames: [String: String] = [
        "azure.ai.openai": "Azure.AI.OpenAI", "azure.identity": "Azure.Identity", "openai": "OpenAI",
    ]
    private static let goNames: Set<String> = [
        "github.com/openai/openai-go", "github.com/Azure/azure-sdk-for-go/sdk/ai/azopenai",
        "github.com/Azure/azure-sdk-for-go/sdk/azidentity",
    ]
    private static let mavenNames: Set<String> = [
        "com.azure:azure-ai-openai", "com.azure:azure-identity", "com.openai:openai-java",
    ]

    /// The tracked Python name for a distribution name, compared per PEP 503
    /// (case-insensitive; runs of `-`, `_`, `.` are equivalent).
    static func trackedPython(_ raw: String) -> String? {
        var out = ""
        var pendingDash = false
        for ch in raw.trimmingSpaces.lowercased() {
            if ch == "-" || ch == "_" || ch == "." {
                pendingDash = true
            } else {
                if pendingDash && !out.isEmpty { out.append("-") }
                pendingDash = false
                out.append(ch)
            }
        }
        return pythonNames.contains(out) ? out : nil
    }

    /// The tracked npm name (npm names are lower-case and compared exactly).
    static func trackedNpm(_ raw: String) -> String? { npmNames.contains(raw) ? raw : nil }

    /// The canonical spelling of a tracked NuGet id (NuGet ids are case-insensitive).
    static func trackedNuGet(_ raw: String) -> String? { nugetNames[raw.trimmingSpaces.asciiLowercased] }

    /// The tracked Go module path; a major-version suffix (`/v2`) maps to the base path so a
    /// major bump reads as one change (the version text keeps the major).
    static func trackedGo(_ raw: String) -> String? {
        if goNames.contains(raw) { return raw }
        guard let slash = raw.lastIndex(of: "/") else { return nil }
        let tail = raw[raw.index(after: slash)...]
        guard tail.count >= 2, tail.first == "v", tail.dropFirst().allSatisfy(\.isNumber) else { return nil }
        let base = String(raw[..<slash])
        return goNames.contains(base) ? base : nil
    }

    /// The tracked Maven coordinate `groupId:artifactId`.
    static func trackedMaven(group: String, artifact: String) -> String? {
        let key = group.trimmingSpaces + ":" + artifact.trimmingSpaces
        return mavenNames.contains(key) ? key : nil
    }

    /// Adds `name → version` unless the name is already present (the first declaration wins:
    /// runtime sections are read before development ones).
    static func keepFirst(_ map: inout [String: String], _ name: String?, _ version: String?) {
        guard let name, let version, map[name] == nil else { return }
        map[name] = version
    }

    // MARK: - JSON formats

    private static func json(_ text: String) -> JSONObject? {
        (try? JSONParser.parse(text))?.objectValue
    }

    /// npm `package.json`: the spec strings of `dependencies`, then `devDependencies`,
    /// `optionalDependencies`, `peerDependencies`.
    static func packageJSON(_ text: String) -> [String: String] {
        guard let root = json(text) else { return [:] }
        var out: [String: String] = [:]
        for section in ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"] {
            guard let deps = exactMember(root, section)?.objectValue else { continue }
            for m in deps.members { keepFirst(&out, trackedNpm(m.key), m.value.text?.trimmingSpaces) }
        }
        return out
    }

    /// `package-lock.json` / `npm-shrinkwrap.json`: v2/v3 `packages["node_modules/<name>"].version`
    /// (top level only: nested copies are other packages' private dependencies), else v1
    /// `dependencies.<name>.version`.
    ///
    /// Lockfiles run to megabytes and change in most commits, so they are not parsed whole
    /// when they need not be: the objects under the tracked `"node_modules/<name>"` keys (keys
    /// that only v2/v3 `packages` has) are cut out and parsed; only when none is found is the
    /// whole file parsed.
    static func packageLock(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        var text = text
        text.withUTF8 { bytes in
            for (name, object) in ByteScan.objectValues(keyPrefix: "node_modules/", names: npmNames, in: bytes) {
                guard let value = try? JSONParser.parse(object) else { continue }
                keepFirst(&out, name, value["version"]?.text)
            }
        }
        if !out.isEmpty { return out }
        guard let root = json(text) else { return [:] }
        if let packages = exactMember(root, "packages")?.objectValue {
            for m in packages.members where m.key.hasPrefix("node_modules/") {
                let name = String(m.key.dropFirst("node_modules/".count))
                keepFirst(&out, trackedNpm(name), m.value["version"]?.text)
            }
        }
        if let deps = exactMember(root, "dependencies")?.objectValue {
            for m in deps.members { keepFirst(&out, trackedNpm(m.key), m.value["version"]?.text) }
        }
        return out
    }

    /// `Pipfile.lock`: `default`, then `develop`; `"version": "==1.40.0"` yields `1.40.0`.
    static func pipfileLock(_ text: String) -> [String: String] {
        guard let root = json(text) else { return [:] }
        var out: [String: String] = [:]
        for section in ["default", "develop"] {
            guard let deps = exactMember(root, section)?.objectValue else { continue }
            for m in deps.members {
                guard let spec = m.value["version"]?.text else { continue }
                keepFirst(&out, trackedPython(m.key), normalizedPythonSpec(spec))
            }
        }
        return out
    }

    /// .NET `packages.lock.json`: `dependencies.<tfm>.<id>.resolved`; target frameworks are read
    /// in sorted order so the result does not depend on member order.
    static func nugetLock(_ text: String) -> [String: String] {
        guard let root = json(text), let frameworks = exactMember(root, "dependencies")?.objectValue else { return [:] }
        var out: [String: String] = [:]
        for tfm in frameworks.members.sorted(by: { $0.key < $1.key }) {
            guard let deps = tfm.value.objectValue else { continue }
            for m in deps.members { keepFirst(&out, trackedNuGet(m.key), m.value["resolved"]?.text) }
        }
        return out
    }

    /// A member by exact name (package names are case-sensitive, unlike Azure's JSON keys).
    private static func exactMember(_ object: JSONObject, _ key: String) -> JSONValue? {
        object.members.first(where: { $0.key == key })?.value
    }

    // MARK: - go.mod

    /// `go.mod`: single-line `require path version` and `require ( … )` blocks; `// indirect`
    /// requirements count too (they are what the binary links). `replace` is not applied.
    static func goMod(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        var inRequireBlock = false
        var inOtherBlock = false
        for rawLine in text.split(whereSeparator: \.isNewline) {
            var line = Substring(rawLine)
            if let comment = line.range(of: "//") { line = line[..<comment.lowerBound] }
            let tokens = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let first = tokens.first else { continue }
            if inRequireBlock || inOtherBlock {
                if first == ")" { inRequireBlock = false; inOtherBlock = false; continue }
                if inRequireBlock, tokens.count >= 2 { keepFirst(&out, trackedGo(unquoted(first)), tokens[1]) }
                continue
            }
            if first.hasSuffix("(") || (tokens.count >= 2 && tokens[1] == "(") {
                if first.hasPrefix("require") { inRequireBlock = true } else { inOtherBlock = true }
            } else if first == "require", tokens.count >= 3 {
                keepFirst(&out, trackedGo(unquoted(tokens[1])), tokens[2])
            }
        }
        return out
    }

    /// Whether the text mentions `openai` or `identity` in any case: every tracked name does, so
    /// files without either are skipped unread.
    static func mentionsTrackedName(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            ByteScan.findCaseInsensitive(Array("openai".utf8), in: bytes)
                || ByteScan.findCaseInsensitive(Array("identity".utf8), in: bytes)
        }
    }

    /// Strips one pair of surrounding double quotes or backquotes.
    static func unquoted(_ s: String) -> String {
        guard s.count >= 2, let f = s.first, f == "\"" || f == "`", s.last == f else { return s }
        return String(s.dropFirst().dropLast())
    }

    // MARK: - Byte scanning

    /// Substring search over UTF-8 bytes, for the few places where parsing a whole file would
    /// cost more than finding the part that matters.
    enum ByteScan {
        /// The offset of the first occurrence of `needle` at or after `start`.
        static func find(_ needle: [UInt8], in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
            guard let first = needle.first, start >= 0, bytes.count - start >= needle.count else { return nil }
            var i = start
            let last = bytes.count - needle.count
            while i <= last {
                if bytes[i] == first {
                    var j = 1
                    while j < needle.count && bytes[i + j] == needle[j] { j += 1 }
                    if j == needle.count { return i }
                }
                i += 1
            }
            return nil
        }

        /// Whether `needle` (lower-case ASCII) occurs in `bytes`, ignoring ASCII case.
        static func findCaseInsensitive(_ needle: [UInt8], in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            guard let first = needle.first, bytes.count >= needle.count else { return false }
            var i = 0
            let last = bytes.count - needle.count
            while i <= last {
                if bytes[i] | 0x20 == first {
                    var j = 1
                    while j < needle.count && bytes[i + j] | 0x20 == needle[j] { j += 1 }
                    if j == needle.count { return true }
                }
                i += 1
            }
            return false
        }

        /// The JSON object texts that are the values of members named `keyPrefix + name` for each
        /// `name` in `names` (first occurrence as a member name followed by `{`), found in one
        /// pass without parsing the rest of the document.
        static func objectValues(keyPrefix: String, names: Set<String>, in bytes: UnsafeBufferPointer<UInt8>)
            -> [String: String]
        {
            let needle = Array(("\"" + keyPrefix).utf8)
            var out: [String: String] = [:]
            var from = 0
            while out.count < names.count, let hit = find(needle, in: bytes, from: from) {
                from = hit + needle.count
                var i = from
                while i < bytes.count && bytes[i] != UInt8(ascii: "\"") && bytes[i] != UInt8(ascii: "\\") { i += 1 }
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { continue }
                let name = String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<i]), as: UTF8.self)
                guard names.contains(name), out[name] == nil else { continue }
                i += 1
                while i < bytes.count && isSpace(bytes[i]) { i += 1 }
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { continue }
                i += 1
                while i < bytes.count && isSpace(bytes[i]) { i += 1 }
                guard i < bytes.count, bytes[i] == UInt8(ascii: "{"), let end = endOfObject(bytes, from: i) else {
                    continue
                }
                out[name] = String(decoding: UnsafeBufferPointer(rebasing: bytes[i...end]), as: UTF8.self)
                from = end
            }
            return out
        }

        /// The offset of the `}` closing the object that opens at `start` (strings respected).
        private static func endOfObject(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
            var depth = 0
            var inString = false
            var i = start
            while i < bytes.count {
                let b = bytes[i]
                if inString {
                    if b == UInt8(ascii: "\\") { i += 1 } else if b == UInt8(ascii: "\"") { inString = false }
                } else if b == UInt8(ascii: "\"") {
                    inString = true
                } else if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") {
                    depth += 1
                } else if b == UInt8(ascii: "}") || b == UInt8(ascii: "]") {
                    depth -= 1
                    if depth == 0 { return i }
                }
                i += 1
            }
            return nil
        }

        private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
    }
}
