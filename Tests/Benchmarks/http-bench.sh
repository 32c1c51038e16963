#!/usr/bin/env bash
# HTTP-layer benchmark: strata-web against nginx on the same files, in one sitting.
#
#   Tests/Benchmarks/http-bench.sh                 # shipped configuration, 3 rounds of 5 s
#   ROUNDS=5 DURATION=10 Tests/Benchmarks/http-bench.sh
#   LOGS=off Tests/Benchmarks/http-bench.sh        # both access logs off (a separate, labelled row set)
#   TESTS="plaintext" CONNS="64" GZIP_ROWS=0 PAGE=0 Tests/Benchmarks/http-bench.sh
#   TLS=on Tests/Benchmarks/http-bench.sh          # HTTPS: `strata up --https` against nginx with ssl on the same certificate
#   STRATA_BENCH_BIN=/tmp/base-bin Tests/Benchmarks/http-bench.sh   # binaries built elsewhere (a base commit's)
#
# What is measured is what users run: `strata up --bench` with the web tier's
# default middleware (request id, access log at info, security headers, rate
# limits, compression; --bench only adds /plaintext and /json and exempts them
# from the per-client limit), against nginx with the same number of workers
# writing its default access log to a file. With LOGS=off strata runs at log
# level warning and nginx with `access_log off`. Afterwards: 10,000 idle
# connections held (IDLE=0 skips) and a 20 KiB page through all three tiers,
# identity against gzip (PAGE=0 skips).
#
# Servers are measured alternately, round by round, and each cell is the median
# of the rounds. CPU µs per request is utime+stime from /proc over the run:
# strata-web alone, and nginx's workers together (the launcher, which copies
# strata's log lines to its own output, is printed beside it).
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
LOOPS=${LOOPS:-$(nproc)}
LOGS=${LOGS:-on}
TLS=${TLS:-off}
if [ "$TLS" = on ]; then
    # handshake: plaintext with Connection: close, so every request is a new TLS connection.
    TESTS=${TESTS:-"static-1k plaintext handshake"}
    GZIP_ROWS=${GZIP_ROWS:-0}
    IDLE=${IDLE:-0}
    PAGE=${PAGE:-0}
fi
TESTS=${TESTS:-"static-1k static-64k plaintext"}
CONNS=${CONNS:-"64 256"}
GZIP_ROWS=${GZIP_ROWS:-1}    # 1: also the static rows with Accept-Encoding: gzip against nginx gzip_static
STRATA_PORT=${STRATA_PORT:-18481}
NGINX_PORT=${NGINX_PORT:-18482}

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
need nginx nginx

# STRATA_BENCH_BIN: binaries already built (another commit's, to compare two in one sitting).
if [ -n "${STRATA_BENCH_BIN:-}" ]; then
    bin=$STRATA_BENCH_BIN
else
    swift build -c release --product strata >/dev/null
    bin=$(swift build -c release --show-bin-path)
fi
source Tests/Benchmarks/bench-lib.sh

bench_workspace strata-bench

mkdir -p "$work/public" "$work/nginx/logs"
chmod 755 "$work" "$work/public"   # nginx workers run unprivileged
head -c 768 /dev/urandom | base64 -w 0 > "$work/public/1k.txt"      # 1,024 bytes (no head: SIGPIPE under pipefail)
head -c 49152 /dev/urandom | base64 -w 0 > "$work/public/64k.txt"   # 65,536 bytes
# A stylesheet-like text file and its precompressed sibling, for the gzip rows.
python3 - "$work/public/site.css" <<'PY'
import sys, random
random.seed(7)
rules = []
for i in range(400):
    rules.append(".c%d { margin: %dpx %dpx; color: #%06x; display: %s; }\n" % (
        i, random.randint(0, 40), random.randint(0, 40), random.randint(0, 0xffffff), random.choice(["block", "flex", "grid"])))
open(sys.argv[1], "w").write("".join(rules))
PY
gzip -9 -k "$work/public/site.css"
chmod 644 "$work/public/"*

log_level=info
nginx_log="access_log $work/nginx/logs/access.log;"
if [ "$LOGS" = off ]; then
    log_level=warning
    nginx_log="access_log off;"
fi

scheme=http
up_flags=()
nginx_listen="listen 127.0.0.1:$NGINX_PORT reuseport;"
if [ "$TLS" = on ]; then
    # strata up --https makes its development certificate (P-256) in .strata/tls; nginx serves the same pair.
    scheme=https
    up_flags=(--https)
    nginx_listen="listen 127.0.0.1:$NGINX_PORT ssl reuseport;
        ssl_certificate $PWD/.strata/tls/localhost.crt;
        ssl_certificate_key $PWD/.strata/tls/localhost.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
        ssl_prefer_server_ciphers on;
        ssl_session_cache shared:SSL:10m;
        ssl_session_timeout 1h;"
fi

# The whole stack (the app and data tiers idle during this benchmark).
STRATA_LOG_LEVEL=$log_level STRATA_EVENT_LOOPS=$LOOPS STRATA_PUBLIC_DIR="$work/public" \
    "$bin/strata" up --bench "${up_flags[@]}" --port "$STRATA_PORT" --database "$work/bench.db" > "$work/strata.log" 2>&1 &
launcher_pid=$!
pids+=("$launcher_pid")
for _ in $(seq 1 150); do grep -q "Strata is running" "$work/strata.log" && break; sleep 0.2; done
grep -q "Strata is running" "$work/strata.log" || { cat "$work/strata.log"; exit 1; }
web_pid=$(pgrep -P "$launcher_pid" -f strata-web | head -1)

cat > "$work/nginx/nginx.conf" <<CONF
worker_processes $LOOPS;
error_log $work/nginx/logs/error.log warn;
pid $work/nginx/nginx.pid;
events { worker_connections 16384; }
http {
    $nginx_log
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type text/plain;
    types { text/css css; text/plain txt; }
    server {
        $nginx_listen
        location /static/ { alias $work/public/; gzip_static on; }
        location = /plaintext { return 200 "Hello, World!"; }
    }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g "daemon off;" &
nginx_master=$!
pids+=("$nginx_master")
for _ in $(seq 1 75); do [ -s "$work/nginx/nginx.pid" ] && break; sleep 0.2; done
sleep 0.3
nginx_workers=$(pgrep -P "$nginx_master" | tr '\n' ' ')
# A port already taken (another nginx, say) would silently measure the wrong server.
for url in "$scheme://127.0.0.1:$STRATA_PORT/static/1k.txt" "$scheme://127.0.0.1:$NGINX_PORT/static/1k.txt" \
           "$scheme://127.0.0.1:$STRATA_PORT/plaintext" "$scheme://127.0.0.1:$NGINX_PORT/plaintext"; do
    code=$(curl -sk -o /dev/null -w '%{http_code}' "$url" || true)
    [ "$code" = 200 ] || { echo "http-bench: $url answered '$code', not 200: is the port taken?" >&2; exit 1; }
done


rows=()
for test in $TESTS; do
    header=""
    case $test in
        static-1k) path=/static/1k.txt; name="static 1 KiB" ;;
        static-64k) path=/static/64k.txt; name="static 64 KiB" ;;
        plaintext) path=/plaintext; name="plaintext" ;;
        handshake) path=/plaintext; name="new TLS connection per request"; header="Connection: close" ;;
        *) echo "unknown test $test" >&2; exit 2 ;;
    esac
    variants=("$name|$path|$header")
    [ "$GZIP_ROWS" = 1 ] && [ "$test" = static-1k ] && variants+=("static css, gzip accepted|/static/site.css|Accept-Encoding: gzip")
    for variant in "${variants[@]}"; do
        IFS='|' read -r label vpath vheader <<<"$variant"
        for conns in $CONNS; do
            s_rps=(); n_rps=(); s_p99=(); n_p99=(); s_cpu=(); n_cpu=(); l_cpu=(); errors=0
            for _ in $(seq 1 "$ROUNDS"); do
                read -r rps _ p99 err cpu other < <(measure "$scheme://127.0.0.1:$STRATA_PORT$vpath" "$conns" "$vheader" "$web_pid" -- "$launcher_pid")
                s_rps+=("$rps"); s_p99+=("$(micros "$p99")"); s_cpu+=("$cpu"); l_cpu+=("$other"); errors=$((errors + err))
                read -r rps _ p99 err cpu _ < <(measure "$scheme://127.0.0.1:$NGINX_PORT$vpath" "$conns" "$vheader" $nginx_workers)
                n_rps+=("$rps"); n_p99+=("$(micros "$p99")"); n_cpu+=("$cpu"); errors=$((errors + err))
            done
            sr=$(echo "${s_rps[@]}" | median); nr=$(echo "${n_rps[@]}" | median)
            sp=$(echo "${s_p99[@]}" | median); np=$(echo "${n_p99[@]}" | median)
            sc=$(echo "${s_cpu[@]}" | median); nc=$(echo "${n_cpu[@]}" | median); lc=$(echo "${l_cpu[@]}" | median)
            row=$(awk -v l="$label" -v c="$conns" -v sr="$sr" -v nr="$nr" -v sp="$sp" -v np="$np" -v sc="$sc" -v nc="$nc" -v lc="$lc" -v e="$errors" -v all="${s_rps[*]} / ${n_rps[*]}" 'BEGIN {
                printf "| %s | %s | %.0f | %.0f | %.2f | %.0f | %.0f | %.2f | %.1f | %.1f | %.2f | %.1f | %d | %s |", l, c, sr, nr, (nr > 0 ? sr / nr : 0), sp, np, (np > 0 ? sp / np : 0), sc, nc, (nc > 0 ? sc / nc : 0), lc, e, all }')
            rows+=("$row")
            echo "$row" >&2
        done
    done
done

echo
echo "scheme: $scheme; logs: $LOGS (strata log level $log_level; nginx: ${nginx_log%;}), $LOOPS workers each, wrk -t2, ${ROUNDS} alternating rounds of ${DURATION} s, medians"
echo
echo "| test | conns | strata req/s | nginx req/s | ratio | strata p99 µs | nginx p99 µs | p99 ratio | strata-web CPU µs/req | nginx CPU µs/req | CPU ratio | launcher CPU µs/req | errors | rounds (strata / nginx req/s) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for row in "${rows[@]}"; do echo "$row"; done
echo
awk '/VmRSS/ {printf "strata-web RSS after the run: %.1f MB\n", $2/1024}' "/proc/$web_pid/status"

# Idle keep-alive connections held open while wrk keeps getting answers (IDLE=0 skips).
IDLE=${IDLE:-10000}
if [ "$IDLE" -gt 0 ]; then
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
time.sleep(600)
PY
    idle_pid=$!
    pids+=("$idle_pid")
    for _ in $(seq 1 300); do grep -q "held" "$work/idle.log" && break; sleep 0.2; done
    cat "$work/idle.log"
    awk '/VmRSS/ {printf "strata-web RSS with '"$IDLE"' idle connections: %.1f MB\n", $2/1024}' "/proc/$web_pid/status"
    read -r rps _ p99 errors _ _ < <(measure "http://127.0.0.1:$STRATA_PORT/plaintext" 64 "" "$web_pid")
    echo "plaintext at 64 connections while $IDLE are idle: $rps req/s, p99 $p99, errors $errors"
    kill "$idle_pid" 2>/dev/null || true
fi

# A 20 KiB HTML page through all three tiers, identity against gzip (PAGE=0
# skips). Its own stack with the per-client limit off (a labelled row: wrk is
# one client and pages are limited by default), the guestbook filled with
# twenty 1,000-character messages.
PAGE=${PAGE:-1}
if [ "$PAGE" = 1 ]; then
    PAGE_PORT=${PAGE_PORT:-18483}
    STRATA_RATE_LIMIT=0 STRATA_LOG_LEVEL=$log_level STRATA_EVENT_LOOPS=$LOOPS \
        "$bin/strata" up --port "$PAGE_PORT" --database "$work/page.db" > "$work/page.log" 2>&1 &
    page_launcher=$!
    pids+=("$page_launcher")
    for _ in $(seq 1 150); do grep -q "Strata is running" "$work/page.log" && break; sleep 0.2; done
    page_web=$(pgrep -P "$page_launcher" -f strata-web | head -1)
    jar="$work/cookies"
    token=$(curl -s -c "$jar" "http://127.0.0.1:$PAGE_PORT/guestbook" | sed -n 's/.*name="_csrf" value="\([0-9a-f]*\)".*/\1/p' | head -1)
    message=$(python3 -c 'import random; random.seed(3); print(" ".join(random.choice(["alpha","beta","gamma","delta","lorem","ipsum","strata","page"]) for _ in range(160))[:1000])')
    for i in $(seq 1 20); do
        curl -s -o /dev/null -b "$jar" --data-urlencode "_csrf=$token" --data-urlencode "name=Visitor $i" \
            --data-urlencode "message=$message" "http://127.0.0.1:$PAGE_PORT/guestbook"
    done
    identity=$(curl -s "http://127.0.0.1:$PAGE_PORT/guestbook" | wc -c)
    gzipped=$(curl -s -H "Accept-Encoding: gzip" "http://127.0.0.1:$PAGE_PORT/guestbook" | wc -c)
    echo
    echo "20 KiB page (/guestbook through web, app and data tiers on SQLite; per-client limit off), $ROUNDS rounds of ${DURATION} s, medians:"
    echo
    echo "| response | bytes | conns | req/s | p99 µs | strata-web CPU µs/req | rounds |"
    echo "|---|---|---|---|---|---|---|"
    for conns in 64; do
        i_rps=(); g_rps=(); i_p99=(); g_p99=(); i_cpu=(); g_cpu=()
        for _ in $(seq 1 "$ROUNDS"); do
            read -r rps _ p99 _ cpu _ < <(measure "http://127.0.0.1:$PAGE_PORT/guestbook" "$conns" "" "$page_web")
            i_rps+=("$rps"); i_p99+=("$(micros "$p99")"); i_cpu+=("$cpu")
            read -r rps _ p99 _ cpu _ < <(measure "http://127.0.0.1:$PAGE_PORT/guestbook" "$conns" "Accept-Encoding: gzip" "$page_web")
            g_rps+=("$rps"); g_p99+=("$(micros "$p99")"); g_cpu+=("$cpu")
        done
        echo "| identity | $identity | $conns | $(echo "${i_rps[@]}" | median) | $(echo "${i_p99[@]}" | median) | $(echo "${i_cpu[@]}" | median) | ${i_rps[*]} |"
        echo "| gzip | $gzipped | $conns | $(echo "${g_rps[@]}" | median) | $(echo "${g_p99[@]}" | median) | $(echo "${g_cpu[@]}" | median) | ${g_rps[*]} |"
    done
fi
