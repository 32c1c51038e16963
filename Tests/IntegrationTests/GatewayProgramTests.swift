import Foundation
import StrataCore
import StrataTestSupport
import XCTest

/// FastCGI against the real thing (Debian's php-fpm, started here on a Unix
/// socket with unprivileged workers) and CGI with Python scripts, through
/// the real `strata-web` executable.
final class GatewayProgramTests: XCTestCase {
    private var tiers: Tiers!

    override func setUpWithError() throws { tiers = try Tiers(secret: "integration-test-secret-0123456789") }

    override func tearDown() { tiers.stop() }

    private func startWeb(_ arguments: [String]) throws -> (TierProcess, Int) {
        let web = try tiers.start(
            "strata-web", ["serve", "--port", "0", "--app", "127.0.0.1:\(Loopback.freePort())", "--rate-limit", "0"] + arguments)
        let address = try web.waitForReady()
        return (web, try XCTUnwrap(Int(address.split(separator: ":").last ?? "")))
    }

    private func write(_ text: String, to path: String, mode: Int) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    // MARK: FastCGI

    static let echoScript = """
        <?php
        header("X-Powered: test");
        setcookie("flavour", "oat");
        setcookie("size", "large");
        if (isset($_GET['status'])) http_response_code((int)$_GET['status']);
        if (isset($_GET['complain'])) error_log("complaint from php");
        echo "method=", $_SERVER['REQUEST_METHOD'], "\\n";
        echo "script=", $_SERVER['SCRIPT_NAME'], "\\n";
        echo "path_info=", $_SERVER['PATH_INFO'] ?? '', "\\n";
        echo "query=", $_SERVER['QUERY_STRING'], "\\n";
        echo "x_custom=", $_SERVER['HTTP_X_CUSTOM'] ?? '', "\\n";
        echo "proxy=", $_SERVER['HTTP_PROXY'] ?? 'none', "\\n";
        echo "content_type=", $_SERVER['CONTENT_TYPE'] ?? '', "\\n";
        echo "body=", file_get_contents('php://input'), "\\n";
        if (isset($_GET['lines'])) { for ($i = 0; $i < (int)$_GET['lines']; $i++) { echo str_pad((string)$i, 99, '.'), "\\n"; } }
        """

    /// Reads the body as PHP gets it, piece by piece: its length and SHA-256.
    static let uploadScript = """
        <?php
        $in = fopen('php://input', 'rb');
        $hash = hash_init('sha256');
        $length = 0;
        while (!feof($in)) { $piece = fread($in, 65536); $length += strlen($piece); hash_update($hash, $piece); }
        echo $length, " ", hash_final($hash);
        """

    /// Starts php-fpm on a Unix socket in the test folder; returns the socket path and the PHP folder.
    private func startPHPFPM() throws -> (socket: String, root: String)? {
        let binary = ["/usr/sbin/php-fpm8.2", "/usr/sbin/php-fpm"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let binary else {
            if ProcessInfo.processInfo.environment["STRATA_REQUIRE_TOOLS"] == "1" { throw ExternalTool.Missing(tool: "php-fpm8.2") }
            return nil
        }
        let folder = tiers.folder.path
        let root = folder + "/php"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        // Workers run as nobody: everything they read must be readable by all.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root)
        try write(Self.echoScript, to: root + "/echo.php", mode: 0o644)
        try write(Self.uploadScript, to: root + "/upload.php", mode: 0o644)
        let socket = folder + "/php-fpm.sock"
        let asRoot = getuid() == 0
        try write(
            """
            [global]
            error_log = \(folder)/php-fpm.log
            daemonize = no
            pid = \(folder)/php-fpm.pid
            [www]
            listen = \(socket)
            listen.mode = 0666
            \(asRoot ? "user = nobody\ngroup = nogroup" : "")
            pm = static
            pm.max_children = 4
            catch_workers_output = yes
            clear_env = yes
            """, to: folder + "/php-fpm.conf", mode: 0o644)
        let fpm = try tiers.start(binary, ["--nodaemonize", "--fpm-config", folder + "/php-fpm.conf"] + (asRoot ? ["--allow-to-run-as-root"] : []))
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket) { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: socket), fpm.output.joined(separator: "\n"))
        return (socket, root)
    }

    func testFastCGIRequestsReachPHPFPMAndItsAnswersComeBack() throws {
        guard let (socket, root) = try startPHPFPM() else { throw XCTSkip("php-fpm is not installed") }
        let (web, port) = try startWeb(["--fastcgi", "/php/=unix:\(socket);root=\(root);workers=4;max-body=16m"])
        // php-fpm answers FCGI_GET_VALUES without FCGI_MAX_CONNS; workers= lets connections be kept.
        _ = try web.waitForLine(containing: "connections_per_loop=")
        let client = try TestHTTPClient(port: port)

        let get = try client.request("GET", "/php/echo.php/extra/path?a=1&b=two", headers: [("X-Custom", "hello"), ("Proxy", "http://evil")])
        XCTAssertEqual(get.status, 200, get.text)
        XCTAssertTrue(get.text.contains("method=GET\n"), get.text)
        XCTAssertTrue(get.text.contains("script=/php/echo.php\n"), get.text)
        XCTAssertTrue(get.text.contains("path_info=/extra/path\n"), get.text)
        XCTAssertTrue(get.text.contains("query=a=1&b=two\n"), get.text)
        XCTAssertTrue(get.text.contains("x_custom=hello\n"), get.text)
        XCTAssertTrue(get.text.contains("proxy=none\n"), "a Proxy header never becomes HTTP_PROXY (httpoxy)")
        XCTAssertEqual(get.header("X-Powered"), "test")
        XCTAssertEqual(get.headers.filter { $0.0.lowercased() == "set-cookie" }.map(\.1).sorted(), ["flavour=oat", "size=large"])

        // The same keep-alive connection to the client, and to php-fpm.
        let post = try client.request("POST", "/php/echo.php", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: "name=ada&x=1")
        XCTAssertTrue(post.text.contains("method=POST\n"), post.text)
        XCTAssertTrue(post.text.contains("body=name=ada&x=1\n"), post.text)
        XCTAssertTrue(post.text.contains("content_type=application/x-www-form-urlencoded\n"), post.text)

        XCTAssertEqual(try client.request("GET", "/php/echo.php?status=418").status, 418)

        // A large output streams through (20,000 lines of 100 bytes).
        let big = try client.request("GET", "/php/echo.php?lines=20000")
        let lines = big.text.split(separator: "\n").filter { $0.hasSuffix("...") }
        XCTAssertEqual(lines.count, 20_000)
        XCTAssertEqual(lines.last.map { String($0.prefix(5)) }, "19999")

        // What PHP logs reaches the web tier's log with the request id.
        let complaint = try client.request("GET", "/php/echo.php?complain=1")
        let requestID = try XCTUnwrap(complaint.header("X-Request-ID"))
        _ = try web.waitForLine(containing: "complaint from php", seconds: 10)
        XCTAssertTrue(web.output.contains { $0.contains("complaint from php") && $0.contains(requestID) })

        // An upload larger than the tier's default limit streams to PHP as STDIN records (under PHP's post_max_size of 8 MiB).
        let upload = (0..<(6 << 20)).map { UInt8(truncatingIfNeeded: $0 % 251) }
        try client.send(
            "PUT /php/upload.php HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: \(upload.count)\r\n\r\n")
        try client.send(upload)
        let uploaded = try client.readResponse()
        XCTAssertEqual(uploaded.status, 200, uploaded.text)
        XCTAssertEqual(uploaded.text, "\(upload.count) \(Digest.hex(Digest.sha256(upload)))")

        // A script that does not exist never reaches php-fpm.
        XCTAssertEqual(try client.request("GET", "/php/missing.php").status, 404)
        XCTAssertEqual(try client.request("GET", "/php/%2e%2e/etc/passwd").status, 400)
    }

    func testFastCGIWithNoResponderAnswers502() throws {
        let socket = tiers.folder.path + "/nobody-listens.sock"
        let root = tiers.folder.path
        try "<?php echo 1;".write(toFile: root + "/x.php", atomically: true, encoding: .utf8)
        let (_, port) = try startWeb(["--fastcgi", "/php/=unix:\(socket);root=\(root)"])
        let response = try TestHTTPClient(port: port).request("GET", "/php/x.php")
        XCTAssertEqual(response.status, 502)
        XCTAssertEqual(try TestHTTPClient(port: port).request("GET", "/healthz").status, 200)
    }

    // MARK: CGI

    func testCGIScriptsGetTheMetaVariablesAndTheirAnswersAreParsed() throws {
        let python = try XCTUnwrap(["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) })
        let folder = tiers.folder.path + "/cgi-bin"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try write(
            """
            #!\(python)
            import os, sys
            body = sys.stdin.read()
            sys.stderr.write("cgi says hi\\n")
            print("Content-Type: text/plain")
            print("Status: 201 Created")
            print("X-Script: env")
            print()
            for name in sorted(os.environ):
                print(name + "=" + os.environ[name])
            print("BODY=" + body)
            """, to: folder + "/env.py", mode: 0o755)
        try write("#!\(python)\nprint('Location: /cgi/env.py/redirected?via=local')\nprint()\n", to: folder + "/local.py", mode: 0o755)
        try write(
            "#!\(python)\nprint('Location: https://example.com/elsewhere')\nprint()\n", to: folder + "/away.py", mode: 0o755)
        try write("#!\(python)\nimport time\ntime.sleep(10)\n", to: folder + "/slow.py", mode: 0o755)
        try write("#!\(python)\nprint('no header block here')\n", to: folder + "/broken.py", mode: 0o755)
        try write("#!\(python)\nprint('Content-Type: text/plain\\n\\nnph')\n", to: folder + "/nph-raw.py", mode: 0o755)
        try write("#!\(python)\nprint('Content-Type: text/plain\\n\\nnot executable')\n", to: folder + "/plain.py", mode: 0o644)

        let (web, port) = try startWeb(["--cgi", "/cgi/=\(folder);timeout=1"])
        let client = try TestHTTPClient(port: port)
        let response = try client.request(
            "POST", "/cgi/env.py/extra/part?q=1&r=2",
            headers: [
                ("Content-Type", "text/plain"), ("X-Custom-Header", "v"), ("Authorization", "Basic c2VjcmV0"), ("Proxy", "x"), ("X_Under", "u"),
            ],
            body: "the body")
        XCTAssertEqual(response.status, 201, response.text)
        XCTAssertEqual(response.header("X-Script"), "env")
        let variables = Dictionary(
            response.text.split(separator: "\n").compactMap { line -> (String, String)? in
                guard let equals = line.firstIndex(of: "=") else { return nil }
                return (String(line[..<equals]), String(line[line.index(after: equals)...]))
            }, uniquingKeysWith: { first, _ in first })
        XCTAssertEqual(variables["GATEWAY_INTERFACE"], "CGI/1.1")
        XCTAssertEqual(variables["REQUEST_METHOD"], "POST")
        XCTAssertEqual(variables["SCRIPT_NAME"], "/cgi/env.py")
        XCTAssertEqual(variables["PATH_INFO"], "/extra/part")
        XCTAssertEqual(variables["PATH_TRANSLATED"], try XCTUnwrap(realpath(folder, nil).map { String(cString: $0) }) + "/extra/part")
        XCTAssertEqual(variables["QUERY_STRING"], "q=1&r=2")
        XCTAssertEqual(variables["CONTENT_LENGTH"], "8")
        XCTAssertEqual(variables["CONTENT_TYPE"], "text/plain")
        XCTAssertEqual(variables["SERVER_PROTOCOL"], "HTTP/1.1")
        XCTAssertEqual(variables["SERVER_NAME"], "localhost")
        XCTAssertEqual(variables["SERVER_PORT"], "80")
        XCTAssertEqual(variables["REMOTE_ADDR"], "127.0.0.1")
        XCTAssertEqual(variables["AUTH_TYPE"], "Basic")
        XCTAssertEqual(variables["HTTP_X_CUSTOM_HEADER"], "v")
        XCTAssertEqual(variables["BODY"], "the body")
        XCTAssertNil(variables["HTTP_AUTHORIZATION"], "credentials are not handed to scripts")
        XCTAssertNil(variables["HTTP_PROXY"], "httpoxy")
        XCTAssertNil(variables["HTTP_X_UNDER"], "a name with _ could pass for one with -")
        XCTAssertNil(variables["STRATA_RPC_SECRET"], "the tier's own environment never reaches a script")
        XCTAssertEqual(variables["PATH"], "/usr/local/bin:/usr/bin:/bin")
        _ = try web.waitForLine(containing: "cgi says hi", seconds: 5)

        // A local redirect is answered by the server itself; a client redirect is a 302.
        let local = try client.request("GET", "/cgi/local.py")
        XCTAssertEqual(local.status, 201)
        XCTAssertTrue(local.text.contains("PATH_INFO=/redirected\n") && local.text.contains("QUERY_STRING=via=local\n"), local.text)
        let away = try client.request("GET", "/cgi/away.py")
        XCTAssertEqual(away.status, 302)
        XCTAssertEqual(away.header("Location"), "https://example.com/elsewhere")

        XCTAssertEqual(try client.request("GET", "/cgi/slow.py").status, 504, "killed at the timeout")
        XCTAssertEqual(try client.request("GET", "/cgi/broken.py").status, 502)
        XCTAssertEqual(try client.request("GET", "/cgi/nph-raw.py").status, 501)
        XCTAssertEqual(try client.request("GET", "/cgi/plain.py").status, 404, "not executable")
        XCTAssertEqual(try client.request("GET", "/cgi/../cgi/env.py").status, 400)
        XCTAssertEqual(try client.request("GET", "/cgi/").status, 404)
        XCTAssertEqual(try client.request("GET", "/healthz").status, 200)
    }
}
