import StrataCore

#if canImport(Glibc)
    import Glibc
#endif

/// Process-level output helpers shared by the executables.
public enum Terminal {
    /// Writes `message` and a newline to standard error.
    public static func printError(_ message: String) {
        writeAll(2, message.hasSuffix("\n") ? message : message + "\n")
    }

    /// Writes `text` to standard output without adding anything.
    public static func printOut(_ text: String) {
        writeAll(1, text)
    }

    /// Prints `error` as one line to standard error and exits with `code`.
    public static func fail(_ error: any Error, code: Int32 = 1) -> Never {
        printError("\(error)")
        exit(code)
    }

    /// Writes all of `text` to file descriptor `fd`, retrying short writes.
    static func writeAll(_ fd: Int32, _ text: String) {
        Array(text.utf8).withUnsafeBytes { RawOutput.writeAll(fd, $0) }
    }
}
