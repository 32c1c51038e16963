/// The answer of `strata.manifest.version`.
public struct ManifestVersion: Codable, Sendable, Equatable {
    /// The manifest's current version.
    public var version: String

    /// Wraps a version.
    public init(version: String) { self.version = version }
}
