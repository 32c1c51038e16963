import StrataCore
import StrataHTTP

/// A one-time message for the next page ("You are signed out."), carried in
/// a short-lived cookie signed with the CSRF key so another site cannot plant
/// one. The page that shows it clears it.
enum Flash {
    static let cookieName = "strata_flash"

    /// The `Set-Cookie` value carrying `message`.
    static func cookie(_ message: String, key: [UInt8], secure: Bool) -> String {
        let encoded = FormDecoding.percentEncode(message)
        return "\(cookieName)=\(signature(encoded, key: key)).\(encoded); Path=/; Max-Age=60; HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
    }

    /// The message `request` carries, if its signature holds.
    static func message(in request: HTTPRequest, key: [UInt8]) -> String? {
        guard let value = BrowserSession.cookie(cookieName, in: request), let dot = value.firstIndex(of: ".") else { return nil }
        let encoded = String(value[value.index(after: dot)...])
        guard Digest.constantTimeEquals(Array(value[..<dot].utf8), Array(signature(encoded, key: key).utf8)) else { return nil }
        return try? FormDecoding.percentDecode(encoded)
    }

    /// Clears the cookie once shown.
    static let clearing = "\(cookieName)=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"

    private static func signature(_ encoded: String, key: [UInt8]) -> String {
        String(Digest.hex(Digest.hmacSHA256(key: key, Array("flash:\(encoded)".utf8))).prefix(32))
    }
}
