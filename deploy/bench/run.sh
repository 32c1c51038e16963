#!/usr/bin/env bash
# The full-stack benchmark: Strata's TechEmpower-style endpoints through every
# tier, on SQLite and on PostgreSQL, with nginx on a static file for scale and
# the layer benchmarks (HTTP, templates, RPC, data) in the same run.
#
#   deploy/bench/run.sh            # full run (about 12 minutes), release build
#   deploy/bench/run.sh --quick    # under two minutes: short runs, fewer layer rows
#
# Prints one Markdown table (test, engine, connections, requests/s, p50, p99,
# errors) and the memory of each tier after its run, and writes the same to
# .strata/bench/strata-bench-<date>.md. Errors count non-2xx answers and socket
# errors; any is a failed run. Loopback only; everything started here is
# stopped by PID on exit.
#
# Settings (environment): DURATION, WARMUP (seconds per run), PORT (NGINX_PORT and
# PG_PORT default to the two after it),
# STRATA_BENCH_BIN (use already built binaries, e.g. .build/debug),
# BENCH_LAYERS=0 (skip the layer benchmarks), BENCH_POSTGRES=0 (skip PostgreSQL),
# BENCH_REPORT_DIR (where the Markdown report goes; default .strata/bench).
# LOGS=off (the tiers at log level warning and nginx without its access log, a separate
# labelled run; by default both log every request, as shipped).
set -euo pipefail
cd "$(dirname "$0")/../.."

quick=0
for argument in "$@"; do
    case "$argument" in
        --quick) quick=1 ;;
        -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "deploy/bench/run.sh: unknown option '$argument' (use --quick or --help)" >&2; exit 64 ;;
    esac
done
if [ "$quick" = 1 ]; then DURATION=${DURATION:-2}; WARMUP=${WARMUP:-1}; else DURATION=${DURATION:-10}; WARMUP=${WARMUP:-3}; fi
PORT=${PORT:-18710}
# The ports next to PORT unless given: a test passes ports it found free, since the
# kernel may hand the neighbours of a just-freed port to outgoing connections.
NGINX_PORT=${NGINX_PORT:-$((PORT + 1))}
PG_PORT=${PG_PORT:-$((PORT + 2))}

install_missing() {
    local missing=()
    for tool in "$@"; do command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}"); done
    [ "${#missing[@]}" -eq 0 ] && return
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
            || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
    else
        echo "deploy/bench/run.sh: please install ${missing[*]}" >&2; exit 1
    fi
}
install_missing wrk:wrk nginx:nginx curl:curl

if [ -n "${STRATA_BENCH_BIN:-}" ]; then
    bin=$STRATA_BENCH_BIN
else
    echo "building release binaries..." >&2
    swift build -c release >/dev/null
    bin=$(swift build -c release --show-bin-path)
fi

work=$(mktemp -d /tmp/strata-bench-XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -f "$work/pg/data/postmaster.pid" ]; then as_pg "$pg_bin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

log_level=info
nginx_log="access_log $work/nginx/logs/access.log;"
if [ "${LOGS:-on}" = off ]; then log_level=warning; nginx_log="access_log off;"; fi

report_dir=${BENCH_REPORT_DIR:-.strata/bench}
mkdir -p "$report_dir"
report="$report_dir/strata-bench-$(date +%Y-%m-%d-%H%M%S).md"
lines=()
emit() { lines+=("$1"); echo "$1"; }

cat > "$work/pipeline.lua" <<'LUA'
init = function(args)
  local depth = tonumber(args[1]) or 1
  local requests = {}
  for i = 1, depth do requests[i] = wrk.format() end
  request_data = table.concat(requests)
end
request = function() return request_data end
LUA

# utime+stime, in clock ticks, of the processes a row is measured on:
# the stack's tiers, or nginx's workers.
measured_pids=()
cpu_ticks() {
    local total=0 pid
    for pid in "${measured_pids[@]}"; do
        [ -r "/proc/$pid/stat" ] && total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    echo "$total"
}

# One wrk run: prints "requests/s|p50|p99|errors|CPU µs per request".
measure() {  # url connections [pipeline-depth]
    local url=$1 connections=$2 depth=${3:-}
    local extra=()
    [ -n "$depth" ] && extra=(-s "$work/pipeline.lua" -- "$depth")
    [ "$WARMUP" -gt 0 ] && wrk -t2 -c"$connections" -d"${WARMUP}s" "$url" "${extra[@]}" >/dev/null 2>&1 || true
    local out before after
    before=$(cpu_ticks)
    out=$(wrk -t2 -c"$connections" -d"${DURATION}s" --latency "$url" "${extra[@]}" 2>&1) || true
    after=$(cpu_ticks)
    local rate p50 p99 non2xx socket requests cpu
    rate=$(awk '/Requests\/sec/ {printf "%d", $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    socket=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$out")
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    cpu=$(awk -v b="$before" -v a="$after" -v n="${requests:-0}" -v hz="$(getconf CLK_TCK)" 'BEGIN {if (n > 0) printf "%.1f", (a - b) * 1e6 / hz / n; else print "-"}')
    echo "${rate:-0}|${p50:--}|${p99:--}|$(( ${non2xx:-0} + ${socket:-0} ))|$cpu"
}

row() {  # test engine connections url [depth]
    local result
    result=$(measure "$4" "$3" "${5:-}")
    IFS='|' read -r rate p50 p99 errors cpu <<<"$result"
    emit "| $1 | $2 | $3 | $rate | $p50 | $p99 | $cpu | $errors |"
}

rss_of_tiers() {  # launcher-pid
    local parts=()
    for child in $(pgrep -P "$1"); do
        local name
        name=$(tr -d '\0' < "/proc/$child/comm" 2>/dev/null || true)
        case "$name" in strata-web|strata-app|strata-data)
            parts+=("$name $(awk '/VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$child/status")") ;;
        esac
    done
    (IFS=','; echo "${parts[*]}" | sed 's/,/, /g')
}

start_stack() {  # database-url log
    STRATA_LOG_LEVEL=$log_level STRATA_PUBLIC_DIR="$work/public" "$bin/strata" up --bench --port "$PORT" --database "$1" \
        --migrations Migrations > "$2" 2>&1 &
    stack_pid=$!
    pids+=("$stack_pid")
    for _ in $(seq 1 150); do
        if grep -q "Strata is running" "$2"; then
            # CPU per request counts the three tiers (not the launcher copying their logs).
            measured_pids=($(pgrep -P "$stack_pid"))
            return 0
        fi
        kill -0 "$stack_pid" 2>/dev/null || break
        sleep 0.2
    done
    cat "$2" >&2
    echo "deploy/bench/run.sh: the stack did not start" >&2
    exit 1
}

stop_stack() {
    kill "$stack_pid" 2>/dev/null || true
    wait "$stack_pid" 2>/dev/null || true
}

mkdir -p "$work/public"
head -c 768 /dev/urandom | base64 -w 0 > "$work/public/1k.txt"   # 1,024 bytes
chmod 644 "$work/public/1k.txt"
base="http://127.0.0.1:$PORT"

emit "# Strata benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
emit ""
emit "$(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2 / 1048576}' /proc/meminfo); wrk -t2, ${DURATION} s per run after ${WARMUP} s warm-up; binaries in $bin."
emit ""
emit "Shipped configuration: strata up --bench with the default middleware, access log at log level $log_level (LOGS=off: warning, and nginx's access log off); CPU µs per request is utime+stime over the run of the three tiers together, or of nginx's workers."
emit ""
emit "| test | engine | connections | requests/s | p50 | p99 | CPU µs/req | errors |"
emit "|---|---|---|---|---|---|---|---|"

# SQLite: every test type.
start_stack "$work/bench.db" "$work/sqlite.log"
for connections in 64 256; do row plaintext - "$connections" "$base/plaintext"; done
row "plaintext (pipelined 16)" - 256 "$base/plaintext" 16
for connections in 64 256; do row json - "$connections" "$base/json"; done
for connections in 64 256; do row "static 1 KiB" strata "$connections" "$base/static/1k.txt"; done
for test in db "queries?queries=20" fortunes "updates?queries=20"; do
    for connections in 64 256; do row "/$test" sqlite "$connections" "$base/$test"; done
done
sqlite_rss=$(rss_of_tiers "$stack_pid")
stop_stack

# PostgreSQL: a throwaway server from the installed binaries (as postgres when root).
postgres_rss="not run"
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "${BENCH_POSTGRES:-1}" = 1 ] && [ -n "$pg_bin" ]; then
    mkdir -p "$work/pg"
    [ "$(id -u)" = 0 ] && chown postgres "$work/pg"
    as_pg "$pg_bin/initdb" -D "$work/pg/data" -U strata --auth=trust >/dev/null
    # Durable writes as SQLite's synchronous=FULL has them, but commits need not wait for the flush (TechEmpower's setting).
    as_pg "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w -o "-p $PG_PORT -k $work/pg -c listen_addresses=127.0.0.1 -c synchronous_commit=off -c max_connections=200" start >/dev/null
    start_stack "postgres://strata@127.0.0.1:$PG_PORT/postgres" "$work/postgres.log"
    for test in db "queries?queries=20" fortunes "updates?queries=20"; do
        for connections in 64 256; do row "/$test" postgres "$connections" "$base/$test"; done
    done
    postgres_rss=$(rss_of_tiers "$stack_pid")
    stop_stack
else
    emit "| (PostgreSQL not run: no server binaries or BENCH_POSTGRES=0) | | | | | | | |"
fi

# nginx on the same static file, for scale.
mkdir -p "$work/nginx/logs"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes $(nproc);
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 4096; }
http {
    $nginx_log
    sendfile on;
    keepalive_requests 1000000;
    server { listen 127.0.0.1:$NGINX_PORT; root $work/public; }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' 2>/dev/null &
nginx_pid=$!
pids+=("$nginx_pid")
# Up to 15 s: under load (CI running beside it) nginx can take a while to answer.
nginx_answers=0
for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$NGINX_PORT/1k.txt" >/dev/null 2>&1 && { nginx_answers=1; break; }; sleep 0.1; done
if [ "$nginx_answers" = 0 ]; then
    echo "deploy/bench/run.sh: nginx does not answer on port $NGINX_PORT (set NGINX_PORT to a free port):" >&2
    cat "$work/nginx/logs/error.log" >&2 2>/dev/null || true
    exit 1
fi
measured_pids=($(pgrep -P "$nginx_pid"))
for connections in 64 256; do row "static 1 KiB" nginx "$connections" "http://127.0.0.1:$NGINX_PORT/1k.txt"; done

emit ""
emit "Memory after the runs (RSS): SQLite stack: ${sqlite_rss:-?}; PostgreSQL stack: $postgres_rss."

if [ "${BENCH_LAYERS:-1}" = 1 ]; then
    emit ""
    emit "## Layers"
    layer_duration=$([ "$quick" = 1 ] && echo 1 || echo 5)
    for script in template rpc $([ "$quick" = 1 ] || echo "http data"); do
        emit ""
        emit "### $script ($script-bench.sh)"
        # The data rows run three times each (medians), so shorter runs there.
        case_seconds=$([ "$script" = data ] && echo 3 || echo "$layer_duration")
        while IFS= read -r line; do emit "$line"; done < <(DURATION=$layer_duration SECONDS_PER_CASE=$case_seconds Tests/Benchmarks/$script-bench.sh 2>&1 || true)
    done
fi

printf '%s\n' "${lines[@]}" > "$report"
echo
echo "written to $report"
