#!/usr/bin/env bash
# HTTP-layer benchmark: strata-web against nginx on the same files, in one run.
#
#   Tests/Benchmarks/http-bench.sh            # full run (about 4 minutes)
#   DURATION=5 Tests/Benchmarks/http-bench.sh # shorter runs
#
# Release build, wrk on loopback, keep-alive. Both servers get the same number
# of worker threads (LOOPS, default: cores). Prints a Markdown table and RSS
# of strata-web idle, holding 10,000 idle connections, and after load.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10}
LOOPS=${LOOPS:-$(nproc)}
IDLE=${IDLE:-10000}
STRATA_PORT=${STRATA_PORT:-18481}
NGINX_PORT=${NGINX_PORT:-18482}

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
need nginx nginx-light

swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)

work=$(mktemp -d /tmp/strata-bench-XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/public" "$work/nginx/logs"
chmod 755 "$work" "$work/public"   # nginx workers run unprivileged
head -c 768 /dev/urandom | base64 -w 0 > "$work/public/1k.txt"      # 1,024 bytes (no head: SIGPIPE under pipefail)
head -c 49152 /dev/urandom | base64 -w 0 > "$work/public/64k.txt"   # 65,536 bytes
chmod 644 "$work/public/"*

# The whole stack (the app and data tiers idle during this benchmark).
STRATA_BENCH=1 STRATA_RATE_LIMIT=0 STRATA_LOG_LEVEL=warning STRATA_EVENT_LOOPS=$LOOPS STRATA_PUBLIC_DIR="$work/public" \
    "$bin/strata" up --port "$STRATA_PORT" --database "$work/bench.db" > "$work/strata.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "Strata is running" "$work/strata.log" && break; sleep 0.2; done
grep -q "Strata is running" "$work/strata.log" || { cat "$work/strata.log"; exit 1; }
web_pid=$(pgrep -f "$bin/strata-web serve" | head -1)

cat > "$work/nginx/nginx.conf" <<CONF
worker_processes $LOOPS;
error_log $work/nginx/logs/error.log warn;
pid $work/nginx/nginx.pid;
events { worker_connections 16384; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type text/plain;
    server {
        listen 127.0.0.1:$NGINX_PORT reuseport;
        location /static/ { alias $work/public/; }
        location = /plaintext { return 200 "Hello, World!"; }
    }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g "daemon off;" &
pids+=($!)
sleep 0.5
# A port already taken (another nginx, say) would silently measure the wrong server.
for url in "http://127.0.0.1:$STRATA_PORT/static/1k.txt" "http://127.0.0.1:$NGINX_PORT/static/1k.txt" \
           "http://127.0.0.1:$STRATA_PORT/plaintext" "http://127.0.0.1:$NGINX_PORT/plaintext"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)
    [ "$code" = 200 ] || { echo "http-bench: $url answered '$code', not 200: is the port taken?" >&2; exit 1; }
done

rss() { awk '/VmRSS/ {printf "%.1f MB", $2/1024}' "/proc/$1/status"; }

# wrk prints "Requests/sec: N" and, with --latency, percentile lines.
measure() { # url connections -> "rps p50 p99 errors"
    local out
    out=$(wrk -t2 -c"$2" -d"${DURATION}s" --latency "$1" 2>&1)
    local rps p50 p99 errors
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    errors=$(awk '/Non-2xx|Socket errors/ {sum += $NF} END {print sum+0}' <<<"$out")
    echo "$rps $p50 $p99 $errors"
}

echo "strata-web RSS idle: $(rss "$web_pid")"
echo
echo "| test | conns | strata req/s | nginx req/s | ratio | strata p50 | strata p99 | nginx p50 | nginx p99 | errors |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for test in "static 1 KiB:/static/1k.txt" "static 64 KiB:/static/64k.txt" "plaintext:/plaintext"; do
    name=${test%%:*}
    path=${test#*:}
    for conns in 64 256; do
        read -r s_rps s_p50 s_p99 s_err < <(measure "http://127.0.0.1:$STRATA_PORT$path" "$conns")
        read -r n_rps n_p50 n_p99 n_err < <(measure "http://127.0.0.1:$NGINX_PORT$path" "$conns")
        ratio=$(awk -v a="$s_rps" -v b="$n_rps" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
        echo "| $name | $conns | $s_rps | $n_rps | $ratio | $s_p50 | $s_p99 | $n_p50 | $n_p99 | $((s_err + n_err)) |"
    done
done
echo

# 10,000 idle keep-alive connections held open while wrk keeps getting answers.
ulimit -n 65536 2>/dev/null || true
python3 - "$STRATA_PORT" "$IDLE" > "$work/idle.log" 2>&1 <<'PY' &
import socket, sys, time
port, count = int(sys.argv[1]), int(sys.argv[2])
held = []
for i in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
    held.append(s)
answered = sum(1 for s in held if s.recv(4096).startswith(b"HTTP/1.1 200"))
print(f"held {len(held)} connections, {answered} answered", flush=True)
time.sleep(3600)
PY
pids+=($!)
idle_pid=$!
for _ in $(seq 1 300); do grep -q "held" "$work/idle.log" && break; sleep 0.2; done
cat "$work/idle.log"
echo "strata-web RSS with $IDLE idle connections: $(rss "$web_pid")"
read -r rps p50 p99 errors < <(measure "http://127.0.0.1:$STRATA_PORT/plaintext" 64)
echo "plaintext at 64 connections while $IDLE are idle: $rps req/s, p99 $p99, errors $errors"
kill "$idle_pid" 2>/dev/null || true
sleep 1
echo "strata-web RSS after load: $(rss "$web_pid")"
