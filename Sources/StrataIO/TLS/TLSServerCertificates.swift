import CStrataTLS
import Synchronization

/// The certificates a TLS listener serves: chosen by the server name a client
/// asks for (SNI), the first pair when it asks for none or for a name no
/// certificate has, and reloadable from their files without a restart.
///
/// A reload builds every context anew before swapping them in, so a bad new
/// pair leaves the old ones serving; connections keep the context they began
/// with. New contexts also mean new session-ticket keys: each reload rotates them.
public final class TLSServerCertificates: Sendable {
    /// A certificate (PEM, leaf first, then its chain) and its private key.
    public struct Pair: Sendable, Equatable {
        public var certificate: String
        public var key: String
        /// A DER OCSP response to staple, if the operator fetches one.
        public var ocspResponse: String?

        public init(certificate: String, key: String, ocspResponse: String? = nil) {
            self.certificate = certificate
            self.key = key
            self.ocspResponse = ocspResponse
        }
    }

    /// The pairs, the default first.
    public let pairs: [Pair]
    private let alpn: [String]
    private let clientCA: String?
    private let loaded: Mutex<Loaded>

    private struct Loaded: @unchecked Sendable {
        var fallback: TLSContext
        var byName: [String: TLSContext]
    }

    /// Loads `pairs` (at least one).
    ///
    /// - Parameters:
    ///   - alpn: protocols agreed with clients, preferred first.
    ///   - clientCA: when set, clients must present a certificate this CA signed (mutual TLS).
    public init(_ pairs: [Pair], alpn: [String] = ["http/1.1"], clientCA: String? = nil) throws(TLSError) {
        guard !pairs.isEmpty else { throw TLSError("no certificate given") }
        self.pairs = pairs
        self.alpn = alpn
        self.clientCA = clientCA
        loaded = Mutex(try Self.load(pairs, alpn: alpn, clientCA: clientCA))
        install()
    }

    /// Reads every pair from its files again and serves the new ones; on an
    /// error the ones in use stay and the error names the file.
    public func reload() throws(TLSError) {
        let fresh = try Self.load(pairs, alpn: alpn, clientCA: clientCA)
        loaded.withLock { $0 = fresh }
        install()
    }

    /// The context a new connection starts with (SNI may switch it).
    var initial: TLSContext { loaded.withLock { $0.fallback } }

    private static func load(_ pairs: [Pair], alpn: [String], clientCA: String?) throws(TLSError) -> Loaded {
        var contexts: [TLSContext] = []
        for pair in pairs {
            contexts.append(
                try TLSContext.server(
                    certificate: pair.certificate, key: pair.key, alpn: alpn, ocspResponse: pair.ocspResponse, clientCA: clientCA))
        }
        var byName: [String: TLSContext] = [:]
        // The first pair that names a host serves it.
        for context in contexts {
            for name in context.names where byName[name] == nil { byName[name] = context }
        }
        return Loaded(fallback: contexts[0], byName: byName)
    }

    /// Points every loaded context's server-name callback at this object.
    private func install() {
        let contexts = loaded.withLock { state in [state.fallback] + Array(state.byName.values) }
        let this = Unmanaged.passUnretained(self).toOpaque()
        for context in contexts {
            strata_tls_set_server_name_callback(
                context.pointer,
                { argument, name in
                    guard let argument, let name else { return nil }
                    let certificates = Unmanaged<TLSServerCertificates>.fromOpaque(argument).takeUnretainedValue()
                    return certificates.retainedContext(for: String(cString: name))
                }, this)
        }
    }

    /// The context for `name` (exact, then a `*.` wildcard one label deep),
    /// with a reference taken under the lock so a reload cannot free it first.
    private func retainedContext(for name: String) -> OpaquePointer? {
        let name = name.lowercased()
        return loaded.withLock { state in
            var match = state.byName[name]
            if match == nil, let dot = name.firstIndex(of: ".") {
                match = state.byName["*" + name[dot...]]
            }
            guard let match else { return nil }
            strata_tls_context_retain(match.pointer)
            return match.pointer
        }
    }
}
