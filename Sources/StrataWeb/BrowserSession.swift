import StrataCore
import StrataHTTP

/// The browser's session cookie and the CSRF token derived from it.
///
/// Every browser gets a random session id in the `strata_session` cookie
/// (`HttpOnly`, `SameSite=Lax`, `Path=/`, and `Secure` when the request came
/// over TLS, as a trusted proxy's `X-Forwarded-Proto: https` says). The CSRF
/// token is an HMAC of that id under a key derived from `STRATA_RPC_SECRET`, so
/// every web replica computes the same token and none needs to store it. A
/// form POST must send the token in its `_csrf` field; another site cannot
/// read the cookie or compute the token, so it cannot forge the form.
struct BrowserSession {
    static let cookieName = "strata_session"
    static let fieldName = "_csrf"

    /// The session id (32 hex digits).
    let id: String
    /// Whether the response must set the cookie (the browser had none, or a malformed one).
    let isNew: Bool

    /// The session `request` carries, or a new one.
    init(request: HTTPRequest) {
        if let id = Self.cookie(Self.cookieName, in: request), id.utf8.count == 32, id.utf8.allSatisfy({ Self.isHex($0) }) {
            self.id = id
            isNew = false
        } else {
            id = Digest.hex(Digest.randomBytes(16))
            isNew = true
        }
    }

    /// The CSRF token for this session under `key`.
    func csrfToken(key: [UInt8]) -> String {
        String(Digest.hex(Digest.hmacSHA256(key: key, Array("csrf:\(id)".utf8))).prefix(40))
    }

    /// Whether a submitted form carries this session's token.
    func acceptsForm(_ fields: [(String, String)], key: [UInt8]) -> Bool {
        guard !isNew, let sent = fields.first(where: { $0.0 == Self.fieldName })?.1 else { return false }
        return Digest.constantTimeEquals(Array(sent.utf8), Array(csrfToken(key: key).utf8))
    }

    /// The `Set-Cookie` value.
    func cookieHeader(secure: Bool) -> String {
        "\(Self.cookieName)=\(id); Path=/; HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
    }

    /// The hidden input templates put in every form (`{{{csrf_field}}}`).
    func csrfField(key: [UInt8]) -> String {
        #"<input type="hidden" name="\#(Self.fieldName)" value="\#(csrfToken(key: key))">"#
    }

    static func cookie(_ name: String, in request: HTTPRequest) -> String? {
        for header in request.headers where header.name.lowercased() == "cookie" {
            for pair in header.value.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmed() == name { return String(parts[1].trimmed()) }
            }
        }
        return nil
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (97...102).contains(byte)
    }
}
