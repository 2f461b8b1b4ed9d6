import AuditCore

/// Maps an RSS 2.0 document (Azure status, Statuspage, incident.io) to incident rows.
enum StatusFeedRSSReader {
    static func read(_ root: StatusFeedXMLNode, _ input: StatusFeedSource) -> StatusFeedResult {
        var result = StatusFeedResult(format: "rss")
        guard let channel = root.children("channel").first else { return result }
        let channelTitle = channel.child("title")?.nonEmptyText
        let channelLink = channel.child("link")?.nonEmptyText
            ?? channel.children("link").first(where: { $0.attributes["href"] != nil })?.attributes["href"]
        let provider = StatusFeedParser.provider(title: channelTitle, link: channelLink, id: nil)
        let isAzure = provider == "azure"
        // Items usually sit in <channel>; RSS 0.9x/1.0-style documents put them next to it.
        let items = channel.children("item") + root.children("item")
        for node in items where node.isClosed {
            switch item(node, provider: provider, isAzure: isAzure) {
            case .success(let item): result.incidents.append(item.incident)
            case .failure(let problem): result.quarantine.append(input.quarantine(node, reason: problem.reason))
            }
        }
        return result
    }

    static func item(_ node: StatusFeedXMLNode, provider: String, isAzure: Bool) -> Result<StatusFeedItem, StatusFeedProblem> {
        guard let rawTitle = node.child("title")?.nonEmptyText else {
            return .failure(StatusFeedProblem(reason: "RSS item without a title"))
        }
        let title = StatusFeedText.collapseWhitespace(rawTitle)
        let dateNode = node.child("pubDate", "dc:date", "a10:updated", "atom:updated", "updated", "dc:modified")
        guard let dateText = dateNode?.nonEmptyText else {
            return .failure(StatusFeedProblem(reason: "RSS item without a date (<pubDate>): \(title.prefixForDisplay(80))"))
        }
        guard let updatedUs = Timestamp.parse(dateText) else {
            return .failure(StatusFeedProblem(reason: "RSS item date is not a timestamp: \(dateText.prefixForDisplay(60))"))
        }
        let markup = node.child("content:encoded")?.text ?? node.child("description")?.text ?? ""
        let split = StatusFeedAzure.splitStatus(title)
        let marker = StatusFeedText.statusMarker(inHTML: markup)
        let status = isAzure ? (split.status ?? marker) : (marker ?? split.status)

        var categories = node.children("category").compactMap { $0.nonEmptyText ?? $0.attributes["term"] }
        if categories.isEmpty, isAzure {
            // No categories: take them from "Service - Region" in the title.
            categories = StatusFeedAzure.titleParts(split.core)
        }
        let classified = StatusFeedAzure.classify(categories)
        var service = classified.service
        if service == nil {
            let components = StatusFeedText.affectedComponents(inHTML: markup)
            if !components.isEmpty { service = components.joined(separator: ", ") }
        }

        let guid = node.child("guid")?.nonEmptyText
        let link = node.child("link")?.nonEmptyText
            ?? node.children("link").first(where: { $0.attributes["href"] != nil })?.attributes["href"]
        let body = StatusFeedText.plainText(fromHTML: markup)
        return .success(StatusFeedItem(
            provider: provider,
            id: guid,
            title: title,
            titleCore: split.core,
            status: status,
            service: service,
            region: classified.region,
            startUs: updatedUs,
            updatedUs: updatedUs,
            url: link ?? guid.flatMap { StatusFeedParser.host(of: $0) != nil ? $0 : nil },
            body: body.isEmpty ? nil : body
        ))
    }
}
