import CStrataShims
import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Entry points for the fuzz targets in `Tests/Fuzz`; not part of the API.
@_spi(Fuzzing)
public enum TLSFuzzing {
    /// A throwaway self-signed pair, made once per fuzzing process.
    private static let certificates: TLSServerCertificates = {
        let folder = NSTemporaryDirectory() + "strata-fuzz-tls-\(getpid())"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        do {
            try TLSCertificate.create(certificate: folder + "/fuzz.crt", key: folder + "/fuzz.key", names: ["localhost"], days: 1)
            return try TLSServerCertificates([.init(certificate: folder + "/fuzz.crt", key: folder + "/fuzz.key")])
        } catch {
            fatalError("fuzz certificate: \(error)")
        }
    }()
    private static let loop = EventLoop.start(name: "strata-fuzz-tls", busyPoll: .zero)

    /// Sends `bytes` to a TLS server connection as a client's whole input
    /// (then end of stream) and runs the connection's read path on them the
    /// way the loop does: handshake, records, alerts, truncation. Returns the
    /// plaintext bytes it decrypted, which garbage must never yield, and the
    /// bytes it answered with (a ServerHello to a well-formed hello, an alert).
    public static func serve(_ bytes: [UInt8]) -> (plaintext: Int, answered: Int) {
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0
        else { return (0, 0) }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(pair[1], $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { break }
            sent += n
        }
        shutdown(pair[1], Int32(SHUT_WR))
        let connection = Connection(fd: pair[0], loop: loop, peer: "fuzz")
        let sink = Sink()
        let done = DispatchSemaphore(value: 0)
        let certificates = certificates
        loop.execute {
            if (try? connection.startTLS(serving: certificates)) != nil {
                connection.handler = sink
                // Each round reads what the socket has; the input is finite, so this ends.
                var rounds = 0
                while !connection.isClosed && !connection.isInputClosed && rounds < 256 {
                    connection.handleEvents(STRATA_EPOLLIN)
                    rounds += 1
                }
            }
            connection.close()
            done.signal()
        }
        done.wait()
        var answered = 0
        var scratch = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = scratch.withUnsafeMutableBytes { recv(pair[1], $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            guard n > 0 else { break }
            answered += n
        }
        Glibc.close(pair[1])
        return (sink.received, answered)
    }

    private final class Sink: ConnectionHandler, @unchecked Sendable {
        var received = 0
        func connectionReadable(_ connection: Connection) {
            received += connection.inbound.readableBytes
            connection.inbound.clear()
        }
        func connectionClosed(_ connection: Connection) {}
    }
}
