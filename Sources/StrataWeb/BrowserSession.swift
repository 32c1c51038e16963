import StrataCore
import StrataHTTP
import Synchronization

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

    /// The session `request` carries, or a new one. Anonymous browsers get
    /// 32 hex digits; the app tier issues 64 on sign-in (and resolves only those).
    init(request: HTTPRequest) {
        self = Self.existing(in: request) ?? Self.anonymous()
    }

    /// The session `request` carries, if its cookie is well-formed.
    static func existing(in request: HTTPRequest) -> BrowserSession? {
        guard let id = cookie(cookieName, in: request), [32, 64].contains(id.utf8.count), id.utf8.allSatisfy({ isHex($0) }) else { return nil }
        return BrowserSession(id: id, isNew: false)
    }

    private init(id: String, isNew: Bool) {
        self.id = id
        self.isNew = isNew
    }

    /// A fresh anonymous session (after sign-out, say).
    static func anonymous() -> BrowserSession { BrowserSession(id: Digest.hex(Digest.randomBytes(16)), isNew: true) }

    /// The session the app tier started (a sign-in): a 64-hex token.
    static func signedIn(_ token: String) -> BrowserSession? {
        guard token.utf8.count == 64, token.utf8.allSatisfy({ isHex($0) }) else { return nil }
        return BrowserSession(id: token, isNew: true)
    }

    /// The CSRF token for this session under `key` (unmasked: see `masked`).
    func csrfToken(key: [UInt8]) -> String {
        String(Digest.hex(Digest.hmacSHA256(key: key, Array("csrf:\(id)".utf8))).prefix(Self.tokenLength))
    }

    /// Whether a submitted form carries this session's token.
    func acceptsForm(_ fields: [(String, String)], key: [UInt8]) -> Bool {
        accepts(fields.first(where: { $0.0 == Self.fieldName })?.1, key: key)
    }

    /// Whether `sent` (a form field or the `X-CSRF-Token` header) is this
    /// session's token, masked (as pages carry it) or not.
    func accepts(_ sent: String?, key: [UInt8]) -> Bool {
        guard !isNew, let sent, let token = Self.unmasked(sent) else { return false }
        return Digest.constantTimeEquals(Array(token.utf8), Array(csrfToken(key: key).utf8))
    }

    /// The token as one response carries it: a fresh random pad, then the
    /// token XORed with the pad (hex). Compressing a page that holds the token
    /// beside text an attacker chose would otherwise let the attacker guess it
    /// byte by byte from the response sizes (BREACH); masked, its bytes differ
    /// in every response, and every masking of it verifies.
    static func masked(_ token: String) -> String {
        guard let raw = Digest.bytes(fromHex: token.utf8) else { return token }
        let pad = Digest.randomBytes(raw.count)
        return Digest.hex(pad + zip(pad, raw).map { $0 ^ $1 })
    }

    /// The token a masked one stands for; an unmasked token as it is; nil for anything else.
    static func unmasked(_ sent: String) -> String? {
        switch sent.utf8.count {
        case tokenLength: return sent
        case 2 * tokenLength:
            guard let bytes = Digest.bytes(fromHex: sent.utf8) else { return nil }
            let half = bytes.count / 2
            return Digest.hex(zip(bytes[..<half], bytes[half...]).map { $0 ^ $1 })
        default: return nil
        }
    }

    /// Hex digits of an unmasked token.
    static let tokenLength = 40

    /// The `Set-Cookie` value.
    func cookieHeader(secure: Bool) -> String {
        "\(Self.cookieName)=\(id); Path=/; HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
    }

    /// The hidden input templates put in every form (`{{{csrf_field}}}`).
    static func csrfField(token: String) -> String {
        #"<input type="hidden" name="\#(fieldName)" value="\#(token)">"#
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

/// A page's session, made only if the page asks for its CSRF token (it holds
/// a form): a page without one costs no random id, no HMAC and no cookie.
final class LazyBrowserSession: Sendable {
    private let existing: BrowserSession?
    private let made = Mutex<BrowserSession?>(nil)

    init(request: HTTPRequest) { existing = BrowserSession.existing(in: request) }

    /// The session, once something asked for its token.
    var used: BrowserSession? { made.withLock { $0 } }

    /// The CSRF token, making the session (a new anonymous one if the browser has none) on first use.
    func csrfToken(key: [UInt8]) -> String {
        made.withLock { session in
            if session == nil { session = existing ?? .anonymous() }
            return session!.csrfToken(key: key)
        }
    }
}
