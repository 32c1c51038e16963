import Foundation
import StrataHTTP

/// Entry points for the fuzz targets of the API's readers (Tests/Fuzz).
@_spi(Fuzzing) public enum APIFuzzing {
    /// An XML request body: fields or a refusal, never a trap; the fields
    /// read must survive being written back as a document and read again.
    public static func xmlBody(_ bytes: [UInt8]) {
        guard let fields = try? XMLMapping.fields(fromXML: bytes) else { return }
        var json = "{"
        for (index, (name, value)) in fields.sorted(by: { $0.key < $1.key }).enumerated() {
            let quote = { (text: String) in
                "\""
                    + text.unicodeScalars.map { $0.value < 0x20 || $0 == "\"" || $0 == "\\" ? String(format: "\\u%04x", $0.value) : String($0) }
                    .joined() + "\""
            }
            json += (index > 0 ? "," : "") + quote(name) + ":" + quote(value)
        }
        json += "}"
        guard let document = XMLMapping.document(fromJSON: Array(json.utf8), root: "r") else { return }
        let again = try? XMLMapping.fields(fromXML: document)
        precondition(again == fields, "XML fields changed on the way round: \(fields) -> \(again ?? [:])")
    }

    /// An `Accept` field: the choice is one of the offers or none.
    public static func accept(_ bytes: [UInt8]) {
        let offers = ["application/json", "application/xml", "text/html"]
        let chosen = MediaTypeNegotiation.preferred(String(decoding: bytes, as: UTF8.self), among: offers)
        precondition(chosen == nil || offers.contains(chosen!), "chose \(chosen!), which was not offered")
    }
}
