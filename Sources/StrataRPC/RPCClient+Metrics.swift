import StrataCore

extension RPCClient: MetricsSource {
    public func collect(into writer: inout MetricsWriter) {
        // Several connections to one address are one endpoint to an operator.
        var totals: [String: (inFlight: Int, queued: Int)] = [:]
        var order: [String] = []
        for endpoint in allEndpoints {
            let address = endpoint.address.description
            if totals[address] == nil { order.append(address) }
            let sum = totals[address, default: (0, 0)]
            totals[address] = (sum.inFlight + endpoint.outstanding, sum.queued + endpoint.queued)
        }
        for address in order {
            let labels = [("endpoint", address)]
            writer.add(
                "strata_rpc_client_calls_in_flight", .gauge, help: "Calls sent to the endpoint and not yet answered (queued ones included).",
                labels: labels, value: totals[address]!.inFlight)
            writer.add(
                "strata_rpc_client_calls_queued", .gauge,
                help: "Calls waiting for room on the endpoint's connection (its in-flight limit reached).", labels: labels,
                value: totals[address]!.queued)
        }
    }
}
