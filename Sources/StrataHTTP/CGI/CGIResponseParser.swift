/// Reads the header block a CGI script or FastCGI responder writes before
/// its body (RFC 3875 §6): `Status`, `Location`, `Content-Type` and other
/// fields, lines ending in LF or CRLF, then an empty line.
///
/// What it makes of them: `Status: 404 Not Found` sets the status; a
/// `Location` with a scheme is a client redirect (302 unless a status is
/// given); a `Location` that is a local path with no status is a local
/// redirect the gateway serves itself. A block with none of `Content-Type`,
/// `Location` and `Status`, a bad line, or one over the size limit is
/// `malformed` (502). Fields are checked like an upstream's, so a script
/// cannot split the response.
struct CGIResponseParser {
    /// The parsed block.
    struct Head {
        var status: HTTPStatus
        var headers: HTTPHeaders
        /// A local path to answer instead (RFC 3875 §6.2.2).
        var localRedirect: String?
    }

    /// Largest header block accepted.
    static let maxHeadSize = 64 * 1024

    /// Parses the block at the start of `output`; returns it and the offset
    /// of the body, or nil when the block has not ended yet.
    static func parse(_ output: [UInt8]) throws -> (Head, Int)? {
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        var bodyStart: Int?
        var i = 0
        while i < output.count {
            if output[i] == 10 {
                var line = output[start..<i]
                if line.last == 13 { line = line.dropLast() }
                if line.isEmpty {
                    bodyStart = i + 1
                    break
                }
                lines.append(line)
                start = i + 1
            }
            i += 1
            if i > maxHeadSize { throw UpstreamError(.malformed, "CGI header block larger than \(maxHeadSize) bytes") }
        }
        guard let bodyStart else { return nil }
        var status: HTTPStatus?
        var location: String?
        var headers = HTTPHeaders(capacity: lines.count)
        for line in lines {
            let (name, value) = try line.withUnsafeBytes { try UpstreamResponseParser.parseField($0) }
            if name.caseInsensitiveEquals("Status") {
                let code = value.prefix(3)
                guard code.count == 3, let number = Int(code), number >= 200, number <= 599, status == nil else {
                    throw UpstreamError(.malformed, "invalid CGI Status \"\(value)\"")
                }
                let reason = value.dropFirst(3).trimmed()
                status = HTTPStatus(number, reason: reason.isEmpty ? nil : reason)
            } else if name.caseInsensitiveEquals("Location") {
                guard location == nil, !value.isEmpty else { throw UpstreamError(.malformed, "invalid CGI Location") }
                location = value
                headers.add(name, value)
            } else if name.caseInsensitiveEquals("Content-Length") || HopByHop.isFixed(name) {
                continue
            } else {
                headers.add(name, value)
            }
        }
        guard status != nil || location != nil || headers.contains("Content-Type") else {
            throw UpstreamError(.malformed, "CGI answer without Content-Type, Location or Status")
        }
        if let location, status == nil {
            if location.hasPrefix("/") && !location.hasPrefix("//") {
                return (Head(status: .ok, headers: headers, localRedirect: location), bodyStart)
            }
            status = HTTPStatus(302)
        }
        return (Head(status: status ?? .ok, headers: headers, localRedirect: nil), bodyStart)
    }
}
