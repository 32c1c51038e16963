import StrataCore

extension RPCServer: MetricsSource {
    public func collect(into writer: inout MetricsWriter) {
        writer.add(
            "strata_rpc_server_calls_in_flight", .gauge, help: "RPC calls being handled now.",
            value: inFlightCalls)
        writer.add(
            "strata_rpc_server_connections_open", .gauge, help: "Open connections from calling tiers.",
            value: connectionCount)
        service.writeMethodMetrics(into: &writer)
    }
}

extension RPCService {
    /// Every registered method's calls and latencies.
    func writeMethodMetrics(into writer: inout MetricsWriter) {
        for (name, method) in registered.sorted(by: { $0.key < $1.key }) { method.stats.write(name, into: &writer) }
    }
}
