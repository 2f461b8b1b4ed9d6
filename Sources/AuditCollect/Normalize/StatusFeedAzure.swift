import AuditCore

/// Azure status feed conventions: `<category>` elements hold a service and a region (in either
/// order), and titles read "Service - Region - Status".
enum StatusFeedAzure {
    /// Azure region display names, plus the non-regional labels the status page uses.
    static let regionDisplayNames: [String] = [
        // Americas
        "East US", "East US 2", "East US 3", "East US 2 EUAP", "Central US", "Central US EUAP", "North Central US",
        "South Central US", "West Central US", "West US", "West US 2", "West US 3", "Canada Central", "Canada East",
        "Brazil South", "Brazil Southeast", "Mexico Central", "Chile Central",
        "US Gov Virginia", "US Gov Arizona", "US Gov Texas", "US Gov Iowa", "US DoD East", "US DoD Central",
        "US Sec East", "US Sec West", "US Sec West Central", "US Nat East", "US Nat West",
        // Europe
        "North Europe", "West Europe", "UK South", "UK West", "France Central", "France South",
        "Germany West Central", "Germany North", "Germany Central", "Germany Northeast", "Switzerland North",
        "Switzerland West", "Norway East", "Norway West", "Sweden Central", "Sweden South", "Poland Central",
        "Italy North", "Spain Central", "Austria East", "Belgium Central", "Denmark East", "Finland Central",
        "Greece Central",
        // Asia Pacific
        "East Asia", "Southeast Asia", "Australia East", "Australia Southeast", "Australia Central",
        "Australia Central 2", "Japan East", "Japan West", "Korea Central", "Korea South", "Central India",
        "South India", "West India", "Jio India West", "Jio India Central", "Indonesia Central", "Malaysia West",
        "Malaysia South", "New Zealand North", "Taiwan North", "Taiwan Northwest",
        "China East", "China East 2", "China East 3", "China North", "China North 2", "China North 3",
        // Middle East and Africa
        "UAE North", "UAE Central", "Qatar Central", "Israel Central", "Saudi Arabia East", "South Africa North",
        "South Africa West",
        // Not a single region
        "Global", "Non-Regional", "Multiple Regions", "All Regions", "Americas", "Europe", "Asia Pacific",
        "Middle East", "Africa", "Middle East and Africa", "Azure Government", "Azure China",
    ]

    /// Display names folded like ARM location names (`East US 2` → `eastus2`), so that both
    /// spellings are recognized.
    static let foldedRegions: Set<String> = Set(regionDisplayNames.map(fold))

    static func fold(_ s: String) -> String {
        String(s.asciiLowercased.filter { $0 != " " && $0 != "-" && $0 != "_" })
    }

    /// True when `text` names an Azure region (display or ARM spelling) or a non-regional label.
    static func isRegion(_ text: String) -> Bool {
        foldedRegions.contains(fold(text.trimmingSpaces))
    }

    /// Service and region from category values (either order); the first of each kind wins.
    static func classify(_ values: [String]) -> (service: String?, region: String?) {
        var service: String?
        var region: String?
        for raw in values {
            let v = StatusFeedText.collapseWhitespace(raw)
            guard !v.isEmpty else { continue }
            if isRegion(v) {
                if region == nil { region = v }
            } else if service == nil, StatusFeedText.normalizedStatus(v) == nil {
                service = v
            }
        }
        return (service, region)
    }

    /// The title split into its dash-separated parts ("Service - Region - Status").
    static func titleParts(_ title: String) -> [String] {
        var parts = [title]
        for dash in [" - ", " – ", " — "] {
            parts = parts.flatMap { $0.splitting(by: dash) }
        }
        return parts.map(\.trimmingSpaces).filter { !$0.isEmpty }
    }

    /// The status named by the last (or, failing that, the first) dash part of the title, and
    /// the title without that part; the status is nil when neither end is a status word.
    static func splitStatus(_ title: String) -> (core: String, status: String?) {
        let parts = titleParts(title)
        guard parts.count >= 2 else { return (title, nil) }
        if let last = parts.last, let status = StatusFeedText.normalizedStatus(last) {
            return (parts.dropLast().joined(separator: " - "), status)
        }
        if let first = parts.first, let status = StatusFeedText.normalizedStatus(first) {
            return (parts.dropFirst().joined(separator: " - "), status)
        }
        return (title, nil)
    }
}

extension String {
    /// The parts between occurrences of a non-empty `separator`.
    fileprivate func splitting(by separator: String) -> [String] {
        var out: [String] = []
        var rest = Substring(self)
        while let r = rest.firstRange(of: separator) {
            out.append(String(rest[..<r.lowerBound]))
            rest = rest[r.upperBound...]
        }
        out.append(String(rest))
        return out
    }
}
