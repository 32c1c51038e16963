import StrataRPC
import StrataTemplates
import Testing
@testable import StrataLauncher
@testable import StrataWeb

// Written with Swift Testing, so `swift test` reports from both runners.
@Suite struct TierTests {
    @Test func redirectTargetsAreFilledFromTheResultAndEncoded() {
        let result = TemplateValue.object(["id": .int(42), "slug": .string("a b/c")])
        #expect(WebApplication.fill("/notes/{id}#top", from: result) == "/notes/42#top")
        #expect(WebApplication.fill("/n/{slug}", from: result) == "/n/a%20b%2Fc")
        #expect(WebApplication.fill("/n/{missing}", from: result) == "/n/")
        #expect(WebApplication.fill("/plain", from: result) == "/plain")
    }

    @Test(arguments: RPCErrorCode.allCases)
    func everyRPCCodeMapsToAnErrorStatus(code: RPCErrorCode) {
        #expect((400...599).contains(ErrorMapping.status(for: code).code))
    }

    @Test func theCommonCodesMapAsDocumented() {
        #expect(ErrorMapping.status(for: .invalidArgument).code == 422)
        #expect(ErrorMapping.status(for: .notFound).code == 404)
        #expect(ErrorMapping.status(for: .alreadyExists).code == 409)
        #expect(ErrorMapping.status(for: .unavailable).code == 503)
        #expect(!ErrorMapping.showsMessage(.internal))
        #expect(ErrorMapping.showsMessage(.invalidArgument))
    }

    @Test func launcherReadsTheReadyAddress() {
        #expect(Stack.readyAddress("ts=1 level=info tier=data msg=ready listen=127.0.0.1:4242 database=sqlite:x") == "127.0.0.1:4242")
        #expect(Stack.readyAddress("ts=1 level=info tier=data msg=stopping listen=127.0.0.1:1") == nil)
        #expect(Stack.readyAddress("msg=ready") == nil)
    }

    @Test func exitStatusDecoding() {
        #expect(ExitStatus(waitStatus: 0).description == "exit status 0")
        #expect(ExitStatus(waitStatus: 3 << 8).description == "exit status 3")
        #expect(ExitStatus(waitStatus: 9).description == "signal 9")
        #expect(!ExitStatus(waitStatus: 9).isSuccess)
    }
}
