import Foundation
import StrataTestSupport
import XCTest

/// The files a team deploys with, checked offline: the Kubernetes manifests
/// against the API's schemas, and every `STRATA_*` variable they and the
/// compose file set against what the executables read.
final class DeploymentFilesTests: XCTestCase {
    private let deploy = repositoryRoot.appendingPathComponent("deploy")

    private var manifests: [String] {
        let folder = deploy.appendingPathComponent("kubernetes")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        // kustomization.yaml is kustomize's, not an API resource.
        return names.filter { $0.hasSuffix(".yaml") && $0 != "kustomization.yaml" }.sorted().map { folder.appendingPathComponent($0).path }
    }

    func testKubernetesManifestsValidateStrictlyAgainstTheAPISchemas() throws {
        XCTAssertEqual(manifests.count, 5, "\(manifests)")
        guard try ExternalTool.isAvailable("kubernetes-validate") else { throw XCTSkip("kubernetes-validate (PyPI) is not installed") }
        // 1.30: the oldest release with every field used (the preStop sleep action).
        for version in ["1.30.0", "1.37.0"] {
            let result = try ExternalTool.run("kubernetes-validate", ["--strict", "--quiet", "-k", version] + manifests, seconds: 120)
            XCTAssertEqual(result.status, 0, "Kubernetes \(version): \(result.output)")
        }
        let kustomization = try String(contentsOf: deploy.appendingPathComponent("kubernetes/kustomization.yaml"), encoding: .utf8)
        for manifest in manifests {
            XCTAssertTrue(kustomization.contains("- " + (manifest as NSString).lastPathComponent), "kustomization.yaml lists \(manifest)")
        }
    }

    func testEveryVariableTheDeploymentFilesSetIsOneATierReads() throws {
        var known = Set<String>()
        for (executable, arguments) in [
            ("strata-web", ["serve", "--help"]), ("strata-app", ["serve", "--help"]), ("strata-data", ["serve", "--help"]),
            ("strata-data", ["migrate", "--help"]),
        ] {
            let help = try TierProcess(executable, arguments)
            XCTAssertEqual(help.waitForExit(), 0)
            for match in help.output.joined(separator: "\n").matches(of: /STRATA_[A-Z_]+/) { known.insert(String(match.output)) }
        }
        XCTAssertTrue(known.contains("STRATA_APP_HEALTH") && known.contains("STRATA_RPC_SECRET"), "\(known.sorted())")
        // Read by compose itself, not by a tier.
        let composeOnly: Set = ["STRATA_APP_REPLICAS", "STRATA_POSTGRES_HOSTS"]
        for file in manifests + ["docker-compose.yml", "ha.env"].map({ deploy.appendingPathComponent($0).path }) {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            for match in text.matches(of: /STRATA_[A-Z_]+/) where !composeOnly.contains(String(match.output)) {
                XCTAssertTrue(
                    known.contains(String(match.output)), "\((file as NSString).lastPathComponent) sets \(match.output), which no tier reads")
            }
        }
    }
}
