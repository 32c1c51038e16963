#!/usr/bin/env bash
# RPC benchmark: echo calls with a 100-byte body over loopback (release build),
# then the cost of one browser request crossing web -> app -> data.
#
#   Tests/Benchmarks/rpc-bench.sh             # 5 s per scenario
#   DURATION=10 Tests/Benchmarks/rpc-bench.sh
#
# Prints Markdown tables: calls/s with p50/p99 latency for 1 connection with
# 1 and 64 calls in flight and 8 connections with 64 each: callers and
# handlers on event loops as in the tiers, then callers or handlers on the
# global pool, then without busy polling, then over mutual TLS; then wrk with
# one connection on the guestbook page (one SQL query behind it).
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-5}
PORT=${PORT:-18491}

command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product StrataRPCBench >/dev/null
swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)

echo "## RPC echo, callers on the client's loop, handlers on the server's loop (as the tiers run)"
"$bin/StrataRPCBench" "$DURATION"
echo
echo "## RPC echo, callers on the global pool"
STRATA_RPC_CALLERS=global "$bin/StrataRPCBench" "$DURATION"
echo
echo "## RPC echo, handlers on the global pool"
STRATA_RPC_HANDLERS=global "$bin/StrataRPCBench" "$DURATION"
echo
echo "## RPC echo, no busy polling (STRATA_BUSY_POLL_US=0)"
STRATA_BUSY_POLL_US=0 "$bin/StrataRPCBench" "$DURATION"
echo
echo "## RPC echo over mutual TLS (STRATA_RPC_TLS_* set, as across hosts)"
STRATA_RPC_TLS=1 "$bin/StrataRPCBench" "$DURATION"
echo

work=$(mktemp -d /tmp/strata-rpc-bench-XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
STRATA_RATE_LIMIT=0 STRATA_LOG_LEVEL=warning "$bin/strata" up --port "$PORT" --database "$work/bench.db" > "$work/strata.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q "Strata is running" "$work/strata.log" && break; sleep 0.2; done
grep -q "Strata is running" "$work/strata.log" || { cat "$work/strata.log"; exit 1; }

echo "## One page through web -> app -> data (GET /, wrk -c1)"
out=$(wrk -t1 -c1 -d"${DURATION}s" --latency "http://127.0.0.1:$PORT/")
echo "| requests/s | p50 | p99 |"
echo "|---|---|---|"
echo "| $(awk '/Requests\/sec/ {print $2}' <<<"$out") | $(awk '$1=="50%" {print $2}' <<<"$out") | $(awk '$1=="99%" {print $2}' <<<"$out") |"
