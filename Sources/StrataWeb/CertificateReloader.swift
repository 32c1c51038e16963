import Dispatch
import StrataCore
import StrataIO
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Reloads the HTTPS certificates on SIGHUP and when their files change, so
/// a renewal (certbot's deploy hook, cert-manager rewriting a mounted
/// secret) takes effect without a restart or a dropped connection. A pair
/// that does not load is logged and the pairs in use keep serving.
final class CertificateReloader: Sendable {
    private let certificates: TLSServerCertificates
    private let logger: Logger
    private let interval: Duration?
    /// What the files looked like at the last load: a change in any triggers a reload.
    private let seen = Mutex<[FileStamp]>([])
    private let sources = Mutex(Sources())

    /// The signal and timer sources, kept alive while they run.
    private struct Sources: @unchecked Sendable {
        var list: [any DispatchSourceProtocol] = []
    }

    /// Identity and modification time of one file, after symbolic links
    /// (Kubernetes swaps a link to a new folder when a secret changes).
    struct FileStamp: Equatable {
        var device: UInt64 = 0
        var inode: UInt64 = 0
        var size: Int64 = 0
        var modified = timespec()

        static func == (a: FileStamp, b: FileStamp) -> Bool {
            a.device == b.device && a.inode == b.inode && a.size == b.size && a.modified.tv_sec == b.modified.tv_sec
                && a.modified.tv_nsec == b.modified.tv_nsec
        }

        init(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modified = info.st_mtim
        }
    }

    /// - Parameter interval: how often to look at the files; nil for SIGHUP only.
    init(certificates: TLSServerCertificates, logger: Logger, interval: Duration?) {
        self.certificates = certificates
        self.logger = logger
        self.interval = interval
        seen.withLock { $0 = stamps() }
    }

    /// Starts listening for SIGHUP and, with an interval, watching the files.
    func start() {
        signal(SIGHUP, SIG_IGN)
        let hangUp = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangUp.setEventHandler { [self] in reload(reason: "SIGHUP") }
        hangUp.resume()
        var started: [any DispatchSourceProtocol] = [hangUp]
        if let interval {
            let timer = DispatchSource.makeTimerSource(queue: .global())
            let nanoseconds = Int(interval.components.seconds) * 1_000_000_000 + Int(interval.components.attoseconds / 1_000_000_000)
            timer.schedule(deadline: .now() + .nanoseconds(nanoseconds), repeating: .nanoseconds(nanoseconds))
            timer.setEventHandler { [self] in
                if stamps() != seen.withLock({ $0 }) { reload(reason: "certificate files changed") }
            }
            timer.resume()
            started.append(timer)
        }
        let running = Sources(list: started)
        sources.withLock { $0 = running }
    }

    func stop() {
        sources.withLock { sources in
            for source in sources.list { source.cancel() }
            sources.list.removeAll()
        }
    }

    private func reload(reason: String) {
        // Remembered before loading: a pair that fails is not retried until its files change again.
        seen.withLock { $0 = stamps() }
        do {
            try certificates.reload()
            logger.info("TLS certificates reloaded", ("reason", reason), ("fingerprints", fingerprints))
        } catch {
            logger.error("TLS certificates not reloaded; the ones in use stay", ("reason", reason), ("error", error.message))
        }
    }

    var fingerprints: String {
        certificates.pairs.map { TLSCertificate.fingerprint(of: $0.certificate) ?? "unreadable" }.joined(separator: ",")
    }

    private func stamps() -> [FileStamp] {
        certificates.pairs.flatMap { pair in
            [pair.certificate, pair.key, pair.ocspResponse].compactMap { $0 }.map(FileStamp.init(path:))
        }
    }
}
