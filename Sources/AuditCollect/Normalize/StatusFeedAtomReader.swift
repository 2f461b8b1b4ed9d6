import AuditCore

/// Maps an Atom document (Statuspage `history.atom`, incident.io `feed.atom`) to incident rows.
enum StatusFeedAtomReader {
    static func read(_ root: StatusFeedXMLNode, _ input: StatusFeedSource) -> StatusFeedResult {
        var result = StatusFeedResult(format: "atom")
        let title = root.child("title").map(text(of:))
        let provider = StatusFeedParser.provider(title: title, link: alternateLink(root), id: root.child("id")?.nonEmptyText)
        let isAzure = provider == "azure"
        for node in root.children("entry") where node.isClosed {
            switch entry(node, provider: provider, isAzure: isAzure) {
            case .success(let item): result.incidents.append(item.incident)
            case .failure(let problem): result.quarantine.append(input.quarantine(node, reason: problem.reason))
            }
        }
        return result
    }

    static func entry(_ node: StatusFeedXMLNode, provider: String, isAzure: Bool) -> Result<StatusFeedItem, StatusFeedProblem> {
        let title = node.child("title").map(text(of:)) ?? ""
        guard !title.isEmpty else {
            return .failure(.init(reason: "Atom entry without a title"))
        }
        let updatedText = node.child("updated", "modified")?.nonEmptyText
        let publishedText = node.child("published", "issued", "created")?.nonEmptyText
        let updated = updatedText.flatMap(Timestamp.parse)
        let published = publishedText.flatMap(Timestamp.parse)
        guard let updatedUs = updated ?? published else {
            if let bad = updatedText ?? publishedText {
                return .failure(.init(reason: "Atom entry date is not a timestamp: \(bad.prefixForDisplay(60))"))
            }
            return .failure(.init(reason: "Atom entry without a date (<updated>/<published>): \(title.prefixForDisplay(80))"))
        }

        let contentNode = node.child("content") ?? node.child("summary")
        let markup = contentNode.map(markup(of:)) ?? ""
        let isPlain = contentNode.map(isPlainText) ?? false
        let split = StatusFeedAzure.splitStatus(title)
        let marker = isPlain ? nil : StatusFeedText.statusMarker(inHTML: markup)
        let status = isAzure ? (split.status ?? marker) : (marker ?? split.status)

        let categories = node.children("category").compactMap { $0.attributes["term"] ?? $0.nonEmptyText }
        let classified = StatusFeedAzure.classify(categories)
        var service = classified.service
        if service == nil, !isPlain {
            let components = StatusFeedText.affectedComponents(inHTML: markup)
            if !components.isEmpty { service = components.joined(separator: ", ") }
        }

        let body = isPlain ? StatusFeedText.plainText(fromText: markup) : StatusFeedText.plainText(fromHTML: markup)
        let id = node.child("id")?.nonEmptyText
        return .success(StatusFeedItem(
            provider: provider,
            id: id,
            title: title,
            titleCore: split.core,
            status: status,
            service: service,
            region: classified.region,
            startUs: published ?? updatedUs,
            updatedUs: updatedUs,
            url: alternateLink(node) ?? id.flatMap { $0.hasPrefix("http") ? $0 : nil },
            body: body.isEmpty ? nil : body
        ))
    }

    /// The `href` of `<link rel="alternate">` (or of a link without `rel`).
    static func alternateLink(_ node: StatusFeedXMLNode) -> String? {
        let links = node.children("link")
        let alternate = links.first { ($0.attributes["rel"] ?? "alternate").caseInsensitiveEquals("alternate") }
        return (alternate ?? links.first)?.attributes["href"] ?? links.first?.nonEmptyText
    }

    /// An Atom text construct as plain text (`type="html"` and `type="xhtml"` are stripped).
    static func text(of node: StatusFeedXMLNode) -> String {
        isPlainText(node) ? StatusFeedText.plainText(fromText: node.text) : StatusFeedText.plainText(fromHTML: markup(of: node))
    }

    /// The HTML of a text construct: the decoded text for `html`, the children for `xhtml`.
    static func markup(of node: StatusFeedXMLNode) -> String {
        (node.attributes["type"] ?? "").asciiLowercased.contains("xhtml") ? node.innerMarkup : node.text
    }

    /// True for `type="text"` (the Atom default when `type` is absent, but feeds that omit it
    /// nearly always carry HTML, so only an explicit `text` counts).
    static func isPlainText(_ node: StatusFeedXMLNode) -> Bool {
        let type = (node.attributes["type"] ?? "").asciiLowercased
        return type == "text" || type == "text/plain"
    }
}
