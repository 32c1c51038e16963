/// Content negotiation by `Accept` (RFC 9110 §12.5.1): which of the media
/// types a resource can be given in the client prefers.
///
/// Each media range has a weight (`q`, default 1, `q=0` meaning "not
/// this"); a type is weighed by the most specific range that matches it
/// (`text/html` before `text/*` before `*/*`, and a range with parameters
/// before one without). The type with the highest weight wins, ties going
/// to the server's order. No `Accept` field accepts anything.
public enum MediaTypeNegotiation {
    /// The offer the client prefers, or nil when it accepts none of them.
    /// `offers` are bare types (`application/json`), the server's preference first.
    public static func preferred(_ accept: String?, among offers: [String]) -> String? {
        guard let accept, !accept.trimmed().isEmpty else { return offers.first }
        let ranges = parse(accept)
        var best: (offer: String, weight: Double)?
        for offer in offers {
            let weight = weight(of: offer.lowercased(), in: ranges)
            if weight > 0, weight > (best?.weight ?? 0) { best = (offer, weight) }
        }
        return best?.offer
    }

    /// One media range of an `Accept` field.
    struct Range: Equatable {
        var type: String
        var subtype: String
        var weight: Double
        /// Parameters other than `q` make a range more specific.
        var parameterCount: Int
    }

    /// The ranges of `accept`; malformed elements are skipped, a bad `q` counts as 1 (RFC 9110 says a sender must not send one).
    static func parse(_ accept: String) -> [Range] {
        accept.split(separator: ",").compactMap { element in
            // Empty pieces kept: `;;` must still have a first part to look at.
            let parts = element.split(separator: ";", omittingEmptySubsequences: false).map { $0.trimmed() }
            let media = parts[0].lowercased().split(separator: "/", omittingEmptySubsequences: false)
            guard media.count == 2, !media[0].isEmpty, !media[1].isEmpty, media[0] != "*" || media[1] == "*" else { return nil }
            var weight = 1.0
            var parameters = 0
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmed() }
                if pair.count == 2, pair[0].lowercased() == "q" {
                    if let value = Double(pair[1]), value >= 0, value <= 1 { weight = value }
                } else {
                    parameters += 1
                }
            }
            return Range(type: String(media[0]), subtype: String(media[1]), weight: weight, parameterCount: parameters)
        }
    }

    /// The weight the most specific matching range gives `offer`; 0 when none matches.
    static func weight(of offer: String, in ranges: [Range]) -> Double {
        let parts = offer.split(separator: "/")
        guard parts.count == 2 else { return 0 }
        var best: (specificity: Int, weight: Double)?
        for range in ranges {
            let specificity: Int
            if range.type == parts[0] && range.subtype == parts[1] {
                specificity = 3 + range.parameterCount
            } else if range.type == parts[0] && range.subtype == "*" {
                specificity = 2
            } else if range.type == "*" && range.subtype == "*" {
                specificity = 1
            } else {
                continue
            }
            if specificity > (best?.specificity ?? 0) { best = (specificity, range.weight) }
        }
        return best?.weight ?? 0
    }
}
