import StrataCore

extension HTTPServer: MetricsSource {
    public func collect(into writer: inout MetricsWriter) {
        writer.add(
            "strata_http_connections_open", .gauge, help: "Open client connections, by listening address.",
            labels: [("listen", configuration.address.description)], value: openConnections)
    }
}
