import Foundation
import StrataCore

/// A folder of CGI/1.1 scripts (RFC 3875) mounted under a path prefix.
///
/// Written `PREFIX=DIR[;timeout=SECONDS][;max-output=BYTES]`, the value of
/// `--cgi` and of a `cgi` line in a gateway file. `/cgi-bin/hello.py/a/b?x=1`
/// runs `DIR/hello.py` (an executable regular file directly in the folder,
/// also after resolving links) with `PATH_INFO=/a/b` and
/// `QUERY_STRING=x=1`. The script is executed directly, never through a
/// shell, as the web tier's user, with only the CGI meta-variables and a
/// fixed `PATH` in its environment. Non-parsed-header scripts (`nph-*`)
/// are refused with 501: the server always writes the response head itself.
public struct CGIRoute: Sendable {
    public var prefix: String
    /// The folder, resolved to its real path.
    public var directory: String
    /// How long a script may run; then it is killed and the client gets 504.
    public var timeout: Duration = .seconds(30)
    /// The most output accepted; more kills the script and the client gets 502.
    public var maxOutput = 16 << 20

    /// Parses a route; the error names what is wrong.
    public init(parsing text: String) throws(GatewayConfigurationError) {
        let parts = text.split(separator: ";").map { $0.trimmed() }
        guard let first = parts.first, let equals = first.firstIndex(of: "=") else {
            throw GatewayConfigurationError("'\(text)' is not PREFIX=DIR")
        }
        prefix = try ProxyRoute.prefix(String(first[..<equals]), in: text)
        let folder = String(first[first.index(after: equals)...])
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue,
            let resolved = realpath(folder, nil)
        else {
            throw GatewayConfigurationError("\(prefix): '\(folder)' is not a folder")
        }
        directory = String(cString: resolved)
        free(resolved)
        for option in parts.dropFirst() {
            let pair = option.split(separator: "=", maxSplits: 1).map(String.init)
            switch (pair.first, pair.count == 2 ? Double(pair[1]) : nil) {
            case ("timeout", let seconds?) where seconds > 0 && seconds <= 3_600: timeout = .milliseconds(Int(seconds * 1000))
            case ("max-output", let bytes?) where bytes >= 1024 && bytes <= Double(1 << 30): maxOutput = Int(bytes)
            default: throw GatewayConfigurationError("option '\(option)' of \(prefix): expected timeout=SECONDS or max-output=BYTES")
            }
        }
    }
}

/// Runs the scripts of a `CGIRoute`.
public final class CGIHandler: HTTPHandler, CGIAnswering {
    public let route: CGIRoute
    private let logger: Logger

    public init(route: CGIRoute, logger: Logger) {
        self.route = route
        self.logger = logger
    }

    public func handle(_ request: HTTPRequest) -> HTTPOutcome {
        let script: CGIEnvironment.Script
        switch resolve(request.path) {
        case .success(let found): script = found
        case .failure(let refusal): return .response(refusal.response)
        }
        return .later { [self] in await run(script, request) }
    }

    private struct Refusal: Error {
        var response: HTTPResponse
    }

    /// The script a path names, or the answer refusing it.
    private func resolve(_ path: String) -> Result<CGIEnvironment.Script, Refusal> {
        let rest = path.dropFirst(route.prefix.count)
        let name = rest.prefix { $0 != "/" }
        let pathInfo = String(rest.dropFirst(name.count))
        let notFound = Refusal(response: .text("404 Not Found: there is no script at this address\n", status: .notFound))
        // Only plain names: no escapes that could hide a slash, no hidden files.
        guard !name.isEmpty, !name.hasPrefix("."), name.utf8.allSatisfy(Self.isNameByte) else { return .failure(notFound) }
        if name.hasPrefix("nph-") {
            return .failure(
                Refusal(response: .text("501 Not Implemented: non-parsed-header (nph-) scripts are not supported\n", status: .notImplemented)))
        }
        let filename = route.directory + "/" + name
        var info = stat()
        guard stat(filename, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(filename, X_OK) == 0,
            let resolved = realpath(filename, nil)
        else { return .failure(notFound) }
        let real = String(cString: resolved)
        free(resolved)
        // A link may not lead out of the folder.
        guard real.hasPrefix(route.directory + "/"), !real.dropFirst(route.directory.count + 1).contains("/") else { return .failure(notFound) }
        return .success(CGIEnvironment.Script(name: route.prefix + name, pathInfo: pathInfo, filename: real, root: route.directory))
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }

    private func run(_ script: CGIEnvironment.Script, _ request: HTTPRequest) async -> HTTPResponse {
        var environment = CGIEnvironment.variables(for: request, script: script, fastCGI: false)
        environment.append(("PATH", "/usr/local/bin:/usr/bin:/bin"))
        let process = CGIProcess(
            executable: script.filename, environment: environment, workingDirectory: route.directory, input: request.body,
            timeout: route.timeout, maxOutput: route.maxOutput)
        let outcome: CGIProcess.Outcome
        do {
            outcome = try await process.run()
        } catch {
            return failure(request, UpstreamError(.connect, "\(error)"))
        }
        if !outcome.errors.isEmpty {
            for line in String(decoding: outcome.errors, as: UTF8.self).split(separator: "\n").prefix(50) {
                logger.warning("CGI script wrote to stderr", ("request_id", request.requestID), ("script", script.name), ("line", String(line)))
            }
        }
        if outcome.timedOut { return failure(request, UpstreamError(.timeout, "\(script.name) ran longer than \(route.timeout)")) }
        if outcome.outputTooLarge {
            return failure(request, UpstreamError(.malformed, "\(script.name) wrote more than \(route.maxOutput) bytes"))
        }
        do {
            guard let (head, bodyStart) = try CGIResponseParser.parse(outcome.output) else {
                throw UpstreamError(.malformed, "\(script.name) ended before its header block (exit status \(outcome.exitStatus))")
            }
            var response = HTTPResponse(status: head.status, headers: head.headers, body: Array(outcome.output[bodyStart...]))
            response.localRedirect = head.localRedirect
            response.route = route.prefix
            return response
        } catch let error as UpstreamError {
            return failure(request, error)
        } catch {
            return failure(request, UpstreamError(.malformed, "\(error)"))
        }
    }

    private func failure(_ request: HTTPRequest, _ error: UpstreamError) -> HTTPResponse {
        logger.warning(
            "CGI request failed", ("request_id", request.requestID), ("route", route.prefix), ("status", String(error.status.code)),
            ("error", error.message))
        var response = error.response(requestID: request.requestID)
        response.route = route.prefix
        return response
    }
}
