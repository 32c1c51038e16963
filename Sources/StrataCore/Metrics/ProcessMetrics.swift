#if canImport(Glibc)
    import Glibc
#endif

/// The process as Prometheus's standard `process_*` metrics describe it (CPU,
/// memory, descriptors, start time, read from /proc at scrape time), and
/// `strata_build_info` naming the tier and how it was built.
public final class ProcessMetrics: MetricsSource {
    private let tier: String

    /// Reports for the process running `tier` (web, app or data).
    public init(tier: String) { self.tier = tier }

    public func collect(into writer: inout MetricsWriter) {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        if let stat = Self.read("/proc/self/stat"), let fields = Self.fieldsAfterCommand(stat), fields.count > 21 {
            // Fields 14 and 15 (utime, stime) and 22 (starttime) of proc(5), counted from after the command.
            let cpu = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
            writer.add("process_cpu_seconds_total", .counter, help: "User and system CPU time spent in seconds.", value: cpu / ticks)
            if let boot = Self.bootTime(), let start = Double(fields[19]) {
                writer.add(
                    "process_start_time_seconds", .gauge, help: "Start time of the process since unix epoch in seconds.",
                    value: boot + start / ticks)
            }
            writer.add("process_virtual_memory_bytes", .gauge, help: "Virtual memory size in bytes.", value: Double(fields[20]) ?? 0)
            let pages = Double(fields[21]) ?? 0
            writer.add(
                "process_resident_memory_bytes", .gauge, help: "Resident memory size in bytes.", value: pages * Double(sysconf(Int32(_SC_PAGESIZE))))
        }
        writer.add("process_open_fds", .gauge, help: "Number of open file descriptors.", value: Self.openDescriptors())
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            writer.add("process_max_fds", .gauge, help: "Maximum number of open file descriptors.", value: Double(limit.rlim_cur))
        }
        writer.add(
            "strata_build_info", .gauge, help: "Always 1; the labels say which tier this is and how it was built.",
            labels: [("tier", tier), ("swift", Self.compiler), ("configuration", Self.configuration)], value: 1)
    }

    static var compiler: String {
        #if compiler(>=6.4)
            "6.4+"
        #elseif compiler(>=6.3)
            "6.3"
        #else
            "older"
        #endif
    }

    static var configuration: String {
        #if DEBUG
            "debug"
        #else
            "release"
        #endif
    }

    /// The fields of /proc/self/stat after `(command)`, which may itself hold spaces and parentheses.
    static func fieldsAfterCommand(_ stat: String) -> [Substring]? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    static func bootTime() -> Double? {
        guard let text = read("/proc/stat") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6))
        }
        return nil
    }

    static func openDescriptors() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        // Less the descriptor opendir itself holds.
        return max(0, count - 1)
    }

    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = Glibc.read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
