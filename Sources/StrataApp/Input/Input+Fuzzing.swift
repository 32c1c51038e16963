import StrataProtocol
import StrataRPC

/// Entry points for the fuzz targets in `Tests/Fuzz`; not part of the API.
@_spi(Fuzzing)
public enum InputFuzzing {
    /// An argument with every kind of property field input converts to.
    struct Everything: Codable, Sendable, Validatable {
        enum Choice: String, Codable { case a, b }
        var text: String
        var number: Int
        var wide: Int64?
        var ratio: Double?
        var flag: Bool
        var choice: Choice?
        var note: String?

        func validate(_ v: inout Validation) {
            v.length("text", text, 1...50)
            v.matches("note", note ?? "", "[a-z]*", "lowercase")
            v.range("number", number, -5...5)
        }
    }

    /// Decodes `fields` as a page's or form's argument and `json` as an API
    /// body, the way the application tier does; must never trap.
    public static func decode(fields: [String: String], json: [UInt8]) {
        let metadata = [WebMetadataKey.fieldInput: "1"]
        if let body = try? RPCCodec.encode(fields) {
            _ = try? MethodDispatcher.decode(
                Everything.self, RPCRequest(method: "m", timeoutMilliseconds: 1, metadata: metadata, body: body, bodyEncoding: .binary))
        }
        _ = try? MethodDispatcher.decode(
            Everything.self, RPCRequest(method: "m", timeoutMilliseconds: 1, metadata: [:], body: json, bodyEncoding: .json))
        var validation = Validation()
        if let value = try? FieldDecoder.decode(Everything.self, from: fields) { value.validate(&validation) }
    }
}
