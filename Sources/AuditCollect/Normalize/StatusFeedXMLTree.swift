import AuditCore
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// One element of a parsed feed document, with the line where it started.
///
/// Feeds are small (an Azure status feed is under 1 MB even in a bad week), so the whole
/// document becomes a tree before it is mapped; that keeps the RSS and Atom readers simple and
/// lets an item left open by a parse error be told apart from the complete ones.
final class StatusFeedXMLNode {
    enum Part {
        case text(String)
        case element(StatusFeedXMLNode)
    }

    /// The name as written, prefix included (`content:encoded`, `a10:updated`).
    let name: String
    let attributes: [String: String]
    let line: Int
    /// The parser's column when the start tag was reported (at or after its `>`).
    let column: Int
    var parts: [Part] = []
    /// False while the end tag has not been seen (the document broke inside this element).
    var isClosed = false

    init(name: String, attributes: [String: String], line: Int, column: Int) {
        self.name = name
        self.attributes = attributes
        self.line = line
        self.column = column
    }

    /// The name without its namespace prefix, lower-cased.
    var localName: String {
        let n = name.split(separator: ":").last.map(String.init) ?? name
        return n.asciiLowercased
    }

    var children: [StatusFeedXMLNode] {
        parts.compactMap { if case .element(let e) = $0 { return e } else { return nil } }
    }

    /// Children whose local name is `localName` (lower case).
    func children(_ localName: String) -> [StatusFeedXMLNode] {
        children.filter { $0.localName == localName }
    }

    /// The first child whose full name (prefix included, any case) is one of `names`.
    func child(_ names: String...) -> StatusFeedXMLNode? {
        for n in names {
            if let c = children.first(where: { $0.name.caseInsensitiveEquals(n) }) { return c }
        }
        return nil
    }

    /// Character data of this element and its descendants.
    var text: String {
        var out = ""
        appendText(to: &out)
        return out
    }

    private func appendText(to out: inout String) {
        for p in parts {
            switch p {
            case .text(let t): out += t
            case .element(let e): e.appendText(to: &out)
            }
        }
    }

    /// Trimmed text, or nil when empty.
    var nonEmptyText: String? {
        let t = text.trimmingSpaces
        return t.isEmpty ? nil : t
    }

    /// The children written back as markup (for Atom `type="xhtml"` content).
    var innerMarkup: String {
        var out = ""
        for p in parts {
            switch p {
            case .text(let t): out += Self.escape(t)
            case .element(let e):
                out += "<" + e.localName + ">" + e.innerMarkup + "</" + e.localName + ">"
            }
        }
        return out
    }

    private static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.append(ch)
            }
        }
        return out
    }
}

/// Builds a `StatusFeedXMLNode` tree with `XMLParser`, keeping what was read before an error.
final class StatusFeedXMLTreeBuilder: NSObject, XMLParserDelegate {
    private(set) var root: StatusFeedXMLNode?
    private var stack: [StatusFeedXMLNode] = []
    private(set) var errorLine: Int?
    private(set) var errorColumn: Int?
    private(set) var errorReason: String?
    /// Character data of the innermost open element not yet stored in its `parts`.
    private var pendingText = ""

    /// Parses `bytes`; afterwards `root` holds what was read and `errorReason` says why it stopped early.
    func build(_ bytes: [UInt8]) {
        let parser = XMLParser(data: Data(bytes))
        parser.delegate = self
        parser.shouldProcessNamespaces = false
        parser.shouldReportNamespacePrefixes = false
        // Never fetch a DTD or external entity named by the input.
        parser.shouldResolveExternalEntities = false
        let ok = parser.parse()
        flushText()
        if !ok, errorReason == nil {
            errorLine = parser.lineNumber
            errorColumn = parser.columnNumber
            errorReason = Self.describe(parser.parserError)
        }
        if ok, !stack.isEmpty {
            errorLine = parser.lineNumber
            errorReason = "XML ended inside <\(stack.last?.name ?? "")>"
        }
    }

    private static func describe(_ error: (any Error)?) -> String {
        guard let error else { return "malformed XML" }
        let code = (error as NSError).code
        let what: String
        switch XMLParser.ErrorCode(rawValue: code) {
        case .tagNameMismatchError?: what = "start and end tags do not match"
        case .prematureDocumentEndError?: what = "document ends early"
        case .emptyDocumentError?: what = "empty document"
        case .invalidCharacterError?, .invalidCharacterRefError?, .invalidCharacterInEntityError?: what = "invalid character"
        case .undeclaredEntityError?, .entityRefAtEOFError?, .entityBoundaryError?: what = "bad entity reference"
        case .ltRequiredError?, .gtRequiredError?, .ltSlashRequiredError?: what = "broken tag"
        case .attributeNotStartedError?, .attributeNotFinishedError?, .attributeRedefinedError?: what = "broken attribute"
        case .notWellBalancedError?: what = "elements not balanced"
        case .delegateAbortedParseError?: what = "parse aborted"
        default: what = "XMLParser error \(code)"
        }
        return "malformed XML: " + what
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
        attributes attributeDict: [String: String] = [:]
    ) {
        // libxml2 keeps reporting events while it recovers from an error; what follows the
        // first error is not trusted (elements it "closes" stay open, so they are not loaded).
        guard errorReason == nil else { return }
        flushText()
        let node = StatusFeedXMLNode(
            name: qName ?? elementName, attributes: attributeDict, line: parser.lineNumber, column: parser.columnNumber)
        if let parent = stack.last {
            parent.parts.append(.element(node))
        } else if root == nil {
            root = node
        }
        stack.append(node)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        guard errorReason == nil else { return }
        flushText()
        guard let node = stack.popLast() else { return }
        node.isClosed = true
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if errorReason == nil, !stack.isEmpty { pendingText += string }
    }

    private func flushText() {
        guard !pendingText.isEmpty else { return }
        stack.last?.parts.append(.text(pendingText))
        pendingText = ""
    }

    func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
        self.parser(parser, foundCharacters: String(decoding: CDATABlock, as: UTF8.self))
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        guard errorReason == nil else { return }
        errorLine = parser.lineNumber
        errorColumn = parser.columnNumber
        errorReason = Self.describe(parseError)
    }
}
