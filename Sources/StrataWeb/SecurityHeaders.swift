import StrataHTTP

/// Headers every response carries unless a handler set its own.
enum SecurityHeaders {
    static let defaults: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]

    static func apply(to response: inout HTTPResponse) {
        for (name, value) in defaults where !response.headers.contains(name) {
            response.headers.add(name, value)
        }
    }
}
