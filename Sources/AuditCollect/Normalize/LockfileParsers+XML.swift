import AuditCore
import Foundation

/// MSBuild project files (`*.csproj`, `Directory.Packages.props`) and Maven `pom.xml`, read with
/// a tolerant tag scanner (no external XML parser: these files are small and regular).
extension LockfileParsers {
    /// One piece of an XML document.
    enum XMLEvent: Equatable {
        case start(name: String, attributes: [String: String], selfClosing: Bool)
        case end(name: String)
        /// Non-blank character data, entities decoded.
        case text(String)
    }

    // MARK: - MSBuild

    /// `<PackageReference Include="Azure.AI.OpenAI" Version="2.2.0-beta.4" />`, the nested
    /// `<Version>` element form, `Update=`, `VersionOverride`, central package management's
    /// `<PackageVersion>` and `<GlobalPackageReference>`. A `$(Property)` version is replaced by
    /// the property's value when the same file defines it.
    static func msbuild(_ text: String) -> [String: String] {
        let events = xmlEvents(text)
        let properties = leafValues(events, under: "PropertyGroup")
        var out: [String: String] = [:]
        let itemNames: Set<String> = ["packagereference", "packageversion", "globalpackagereference"]
        var current: (id: String?, version: String?, element: String)?
        var stack: [String] = []
        for event in events {
            switch event {
            case .start(let name, let attributes, let selfClosing):
                let lower = name.asciiLowercased
                if itemNames.contains(lower) {
                    let id = attribute(attributes, "Include") ?? attribute(attributes, "Update")
                    let version = attribute(attributes, "VersionOverride") ?? attribute(attributes, "Version")
                    if selfClosing {
                        keepFirst(&out, id.flatMap(trackedNuGet), version.map { expand($0, properties) })
                    } else {
                        current = (id, version, lower)
                    }
                }
                if !selfClosing { stack.append(lower) }
            case .text(let value):
                if let top = stack.last, current != nil, top == "version" || top == "versionoverride" {
                    current?.version = value
                }
            case .end(let name):
                let lower = name.asciiLowercased
                if let item = current, item.element == lower {
                    keepFirst(&out, item.id.flatMap(trackedNuGet), item.version.map { expand($0, properties) })
                    current = nil
                }
                if let i = stack.lastIndex(of: lower) { stack.removeSubrange(i...) }
            }
        }
        return out
    }

    /// `$(Name)` references replaced from `properties` (unknown ones are kept as written).
    private static func expand(_ value: String, _ properties: [String: String]) -> String {
        guard value.contains("$(") || value.contains("${") else { return value.trimmingSpaces }
        var out = value
        for (name, replacement) in properties {
            out = out.replacingOccurrences(of: "$(" + name + ")", with: replacement)
            out = out.replacingOccurrences(of: "${" + name + "}", with: replacement)
        }
        return out.trimmingSpaces
    }

    /// An attribute by name, compared case-insensitively (MSBuild is case-insensitive).
    private static func attribute(_ attributes: [String: String], _ name: String) -> String? {
        if let v = attributes[name] { return v }
        return attributes.first(where: { $0.key.caseInsensitiveEquals(name) })?.value
    }

    /// `<Name>text</Name>` children of any `parent` element (MSBuild properties, Maven properties).
    private static func leafValues(_ events: [XMLEvent], under parent: String) -> [String: String] {
        var out: [String: String] = [:]
        var stack: [String] = []
        for (i, event) in events.enumerated() {
            switch event {
            case .start(let name, _, let selfClosing):
                if !selfClosing { stack.append(name) }
            case .end:
                _ = stack.popLast()
            case .text(let value):
                guard stack.count >= 2, stack[stack.count - 2].caseInsensitiveEquals(parent), let name = stack.last,
                    i + 1 < events.count, events[i + 1] == .end(name: name), out[name] == nil
                else { continue }
                out[name] = value.trimmingSpaces
            }
        }
        return out
    }

    // MARK: - Maven

    /// `<dependency>` elements (also under `<dependencyManagement>`) with `groupId`,
    /// `artifactId` and `version`; `${property}` versions are expanded from `<properties>`.
    static func pom(_ text: String) -> [String: String] {
        let events = xmlEvents(text)
        let properties = leafValues(events, under: "properties")
        var out: [String: String] = [:]
        var stack: [String] = []
        var fields: [String: String] = [:]
        for event in events {
            switch event {
            case .start(let name, _, let selfClosing):
                if name == "dependency" { fields = [:] }
                if !selfClosing { stack.append(name) }
            case .text(let value):
                if stack.count >= 2, stack[stack.count - 2] == "dependency", let field = stack.last {
                    fields[field] = value.trimmingSpaces
                }
            case .end(let name):
                if name == "dependency", let group = fields["groupId"], let artifact = fields["artifactId"] {
                    keepFirst(
                        &out, trackedMaven(group: group, artifact: artifact),
                        fields["version"].map { expand($0, properties) })
                }
                if let i = stack.lastIndex(of: name) { stack.removeSubrange(i...) }
            }
        }
        return out
    }

    // MARK: - Scanner

    /// The elements and text of an XML document; comments, processing instructions, DOCTYPE
    /// and CDATA markers are skipped (CDATA content is kept as text).
    static func xmlEvents(_ text: String) -> [XMLEvent] {
        var events: [XMLEvent] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "<") {
            let chars = String(rest[..<open]).trimmingSpaces
            if !chars.isEmpty { events.append(.text(decodeEntities(chars))) }
            let tag = rest[open...]
            if tag.hasPrefix("<!--") {
                rest = tag.range(of: "-->").map { tag[$0.upperBound...] } ?? ""
                continue
            }
            if tag.hasPrefix("<![CDATA[") {
                guard let close = tag.range(of: "]]>") else { break }
                let body = String(tag[tag.index(open, offsetBy: 9)..<close.lowerBound]).trimmingSpaces
                if !body.isEmpty { events.append(.text(body)) }
                rest = tag[close.upperBound...]
                continue
            }
            guard let close = endOfTag(tag) else { break }
            let inner = tag[tag.index(after: open)..<close]
            rest = tag[tag.index(after: close)...]
            if inner.hasPrefix("?") || inner.hasPrefix("!") { continue }
            if inner.hasPrefix("/") {
                events.append(.end(name: String(inner.dropFirst()).trimmingSpaces))
                continue
            }
            let selfClosing = inner.hasSuffix("/")
            let body = selfClosing ? inner.dropLast() : inner
            let nameEnd =
                body.firstIndex(where: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }) ?? body.endIndex
            events.append(
                .start(
                    name: String(body[..<nameEnd]), attributes: attributes(body[nameEnd...]), selfClosing: selfClosing))
        }
        return events
    }

    /// The `>` closing the tag that starts at the beginning of `tag` (quotes may hide a `>`).
    private static func endOfTag(_ tag: Substring) -> Substring.Index? {
        var quote: Character?
        for i in tag.indices {
            let c = tag[i]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == ">" {
                return i
            }
        }
        return nil
    }

    /// `name="value"` / `name='value'` pairs.
    private static func attributes(_ text: Substring) -> [String: String] {
        var out: [String: String] = [:]
        var rest = text
        while let eq = rest.firstIndex(of: "=") {
            let name = String(rest[..<eq]).trimmingSpaces
            let afterEq = rest[rest.index(after: eq)...].drop(while: {
                $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r"
            })
            guard let q = afterEq.first, q == "\"" || q == "'" else { break }
            let valueStart = afterEq.index(after: afterEq.startIndex)
            guard let valueEnd = afterEq[valueStart...].firstIndex(of: q) else { break }
            if !name.isEmpty { out[name] = decodeEntities(afterEq[valueStart..<valueEnd]) }
            rest = afterEq[afterEq.index(after: valueEnd)...]
        }
        return out
    }

    /// The five predefined entities and numeric character references.
    private static func decodeEntities<S: StringProtocol>(_ s: S) -> String {
        guard s.contains("&") else { return String(s) }
        var out = ""
        var rest = Substring(s)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";") else { break }
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let hex = entity.hasPrefix("#x") || entity.hasPrefix("#X")
                let digits = entity.dropFirst(hex ? 2 : 1)
                if entity.hasPrefix("#"), let v = UInt32(digits, radix: hex ? 16 : 10), let scalar = Unicode.Scalar(v) {
                    out.unicodeScalars.append(scalar)
                } else {
                    out += rest[amp...semi]
                }
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }
}
