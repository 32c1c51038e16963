#!/usr/bin/env bash
# Gateway benchmark: strata-web as cache, reverse proxy and FastCGI gateway
# against nginx doing the same, in one sitting; CGI and cached pages alone.
#
#   Tests/Benchmarks/gateway-bench.sh
#   ROUNDS=5 DURATION=10 CONNS=64 Tests/Benchmarks/gateway-bench.sh
#
# Rows (strata alternating with its reference, round by round, medians):
#   cached 1 KiB      strata-web --cache answering a hit (the entry came from an
#                     upstream through --proxy)  vs  nginx serving the same
#                     bytes as a static file
#   proxy 1 KiB       strata-web --proxy to an upstream nginx  vs  nginx
#                     proxy_pass to the same upstream (keep-alive upstream
#                     connections on both)
#   FastCGI           strata-web --fastcgi to a php-fpm pool  vs  nginx
#                     fastcgi_pass to the same pool (Unix socket; nginx as
#                     its fastcgi_params example ships it, a connection per
#                     request; strata keeps connections, as the route's
#                     workers= (php-fpm's pm.max_children) allows); and
#                     against nginx keeping connections too (keepalive 2
#                     per worker, fastcgi_keep_conn on)
# and alone: a CGI script (/bin/sh) per request, and /fortunes through all
# three tiers uncached against /fortunes/public from the cache.
#
# strata-web runs with its default middleware (request id, access log at
# info, security headers, metrics, compression) and the per-client rate
# limit off (a labelled difference: wrk is one client, and the limit's
# default of 50/s would answer it 429); nginx with the same worker count and
# its access log to a file. CPU µs per request: utime+stime from /proc over
# each run (strata-web alone; nginx's workers together; php-fpm's and the
# upstream's beside them).
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
LOOPS=${LOOPS:-$(nproc)}
CONNS=${CONNS:-64}
WEB_PORT=${WEB_PORT:-18581}
NGINX_PORT=${NGINX_PORT:-18582}
UPSTREAM_PORT=${UPSTREAM_PORT:-18583}
STACK_PORT=${STACK_PORT:-18584}
CACHE_PORT=${CACHE_PORT:-18585}

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
need nginx nginx
need php-fpm8.2 php8.2-fpm

swift build -c release --product strata >/dev/null
bin=$(swift build -c release --show-bin-path)
source Tests/Benchmarks/bench-lib.sh

bench_workspace strata-gateway-bench
mkdir -p "$work/public" "$work/php" "$work/cgi" "$work/upstream/logs" "$work/nginx/logs" "$work/fpm"
chmod 755 "$work" "$work/public" "$work/php" "$work/cgi" "$work/fpm"
head -c 768 /dev/urandom | base64 -w 0 > "$work/public/1k.txt"
printf '<?php\necho "Hello, World!";\n' > "$work/php/hello.php"
printf '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nHello, World!"\n' > "$work/cgi/hello.sh"
chmod 644 "$work/public/1k.txt" "$work/php/hello.php"
chmod 755 "$work/cgi/hello.sh"

# The upstream both proxies use: nginx with one worker, answering files with a day's freshness.
cat > "$work/upstream/nginx.conf" <<CONF
worker_processes 1;
error_log $work/upstream/logs/error.log warn;
pid $work/upstream/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    default_type text/plain;
    server {
        listen 127.0.0.1:$UPSTREAM_PORT;
        location /static/ { alias $work/public/; expires 1d; }
    }
}
CONF
nginx -p "$work/upstream" -c "$work/upstream/nginx.conf" -g "daemon off;" &
upstream_master=$!
pids+=("$upstream_master")

# The php-fpm pool both FastCGI gateways use.
cat > "$work/fpm/php-fpm.conf" <<CONF
[global]
error_log = $work/fpm/error.log
daemonize = no
pid = $work/fpm/php-fpm.pid
[www]
listen = $work/fpm/php.sock
listen.mode = 0666
user = nobody
group = nogroup
pm = static
pm.max_children = $((LOOPS * 4))
pm.max_requests = 0
CONF
php-fpm8.2 --nodaemonize --fpm-config "$work/fpm/php-fpm.conf" --allow-to-run-as-root &
fpm_master=$!
pids+=("$fpm_master")

cat > "$work/nginx/nginx.conf" <<CONF
worker_processes $LOOPS;
error_log $work/nginx/logs/error.log warn;
pid $work/nginx/nginx.pid;
events { worker_connections 16384; }
http {
    access_log $work/nginx/logs/access.log;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type text/plain;
    upstream origin { server 127.0.0.1:$UPSTREAM_PORT; keepalive 64; }
    # Kept FastCGI connections, a fair share of the pool's workers per nginx worker, idle ones closed after a second.
    upstream php_kept { server unix:$work/fpm/php.sock; keepalive 2; keepalive_timeout 1s; }
    server {
        listen 127.0.0.1:$NGINX_PORT reuseport;
        location /static/ { alias $work/public/; }
        location /proxy/ {
            proxy_pass http://origin/static/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        }
        location /php/ {
            root $work;
            fastcgi_pass unix:$work/fpm/php.sock;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $work\$fastcgi_script_name;
        }
        location /php-kept/ {
            fastcgi_pass php_kept;
            fastcgi_keep_conn on;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $work/php/hello.php;
        }
    }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g "daemon off;" &
nginx_master=$!
pids+=("$nginx_master")

# Two web tiers: one as a plain gateway (as nginx is configured), one with the cache on.
STRATA_RPC_SECRET=gateway-bench-secret-0123456789abcdef STRATA_EVENT_LOOPS=$LOOPS STRATA_RATE_LIMIT=0 \
    "$bin/strata-web" serve --port "$WEB_PORT" --app "127.0.0.1:1" --proxy "/proxy/=http://127.0.0.1:$UPSTREAM_PORT/static/" \
    --fastcgi "/php/=unix:$work/fpm/php.sock;root=$work/php;workers=$((LOOPS * 4))" --cgi "/cgi/=$work/cgi" > "$work/web.log" 2>&1 &
web_pid=$!
pids+=("$web_pid")
STRATA_RPC_SECRET=gateway-bench-secret-0123456789abcdef STRATA_EVENT_LOOPS=$LOOPS STRATA_RATE_LIMIT=0 \
    "$bin/strata-web" serve --port "$CACHE_PORT" --app "127.0.0.1:1" --cache 64m \
    --proxy "/cached/=http://127.0.0.1:$UPSTREAM_PORT/static/" > "$work/cache.log" 2>&1 &
cache_pid=$!
pids+=("$cache_pid")

# The whole stack for the /fortunes rows.
STRATA_CACHE_BYTES=64m STRATA_RATE_LIMIT=0 STRATA_EVENT_LOOPS=$LOOPS \
    "$bin/strata" up --bench --port "$STACK_PORT" --database "$work/bench.db" > "$work/stack.log" 2>&1 &
stack_launcher=$!
pids+=("$stack_launcher")

for _ in $(seq 1 150); do
    grep -q "msg=ready" "$work/web.log" && grep -q "msg=ready" "$work/cache.log" && grep -q "Strata is running" "$work/stack.log" && [ -S "$work/fpm/php.sock" ] \
        && [ -s "$work/nginx/nginx.pid" ] && [ -s "$work/upstream/nginx.pid" ] && break
    sleep 0.2
done
sleep 0.3
stack_web=$(pgrep -P "$stack_launcher" -f strata-web | head -1)
nginx_workers=$(pgrep -P "$nginx_master" | tr '\n' ' ')
upstream_workers=$(pgrep -P "$upstream_master" | tr '\n' ' ')
fpm_workers=$(pgrep -P "$fpm_master" | tr '\n' ' ')

check() { # url expected-body-fragment
    local body
    body=$(curl -s "$1" || true)
    [[ "$body" == *"$2"* ]] || { echo "gateway-bench: $1 did not answer '$2' (got '${body:0:80}')" >&2; tail -5 "$work/web.log" >&2; exit 1; }
}
onek=$(cat "$work/public/1k.txt")
check "http://127.0.0.1:$CACHE_PORT/cached/1k.txt" "$onek"
check "http://127.0.0.1:$CACHE_PORT/cached/1k.txt" "$onek"
curl -sI "http://127.0.0.1:$CACHE_PORT/cached/1k.txt" | grep -qi "cache-status: strata; hit" || { echo "gateway-bench: /cached/ is not a cache hit" >&2; exit 1; }
check "http://127.0.0.1:$NGINX_PORT/static/1k.txt" "$onek"
check "http://127.0.0.1:$WEB_PORT/proxy/1k.txt" "$onek"
check "http://127.0.0.1:$NGINX_PORT/proxy/1k.txt" "$onek"
check "http://127.0.0.1:$WEB_PORT/php/hello.php" "Hello, World!"
check "http://127.0.0.1:$NGINX_PORT/php/hello.php" "Hello, World!"
check "http://127.0.0.1:$NGINX_PORT/php-kept/hello.php" "Hello, World!"
check "http://127.0.0.1:$WEB_PORT/cgi/hello.sh" "Hello, World!"
check "http://127.0.0.1:$STACK_PORT/fortunes" "fortune"
check "http://127.0.0.1:$STACK_PORT/fortunes/public" "fortune"

rows=()
# label | strata pid | strata url | reference url | reference pids (or -) | helper pids
compare() {
    local label=$1 spid=$2 surl=$3 nurl=$4 npids=$5 helpers=$6 sheader=
    local s_rps=() n_rps=() s_cpu=() n_cpu=() h_cpu=() nh_cpu=() s_p99=() n_p99=() errors=0 rps p99 err cpu other
    for _ in $(seq 1 "$ROUNDS"); do
        # shellcheck disable=SC2086
        read -r rps _ p99 err cpu other < <(measure "$surl" "$CONNS" "$sheader" "$spid" -- $helpers)
        # Kept connections to a shared php-fpm pool hold its workers until they have idled a second.
        sleep 2
        s_rps+=("$rps"); s_p99+=("$(micros "$p99")"); s_cpu+=("$cpu"); h_cpu+=("$other"); errors=$((errors + err))
        if [ "$npids" != - ]; then
            # shellcheck disable=SC2086
            read -r rps _ p99 err cpu other < <(measure "$nurl" "$CONNS" "" $npids -- $helpers)
            sleep 2
            n_rps+=("$rps"); n_p99+=("$(micros "$p99")"); n_cpu+=("$cpu"); nh_cpu+=("$other"); errors=$((errors + err))
        fi
    done
    local sr nr sc nc hc nhc sp np
    sr=$(echo "${s_rps[@]}" | median); sc=$(echo "${s_cpu[@]}" | median); hc=$(echo "${h_cpu[@]}" | median); sp=$(echo "${s_p99[@]}" | median)
    nr=0; nc=0; nhc=0; np=0
    if [ "$npids" != - ]; then
        nr=$(echo "${n_rps[@]}" | median); nc=$(echo "${n_cpu[@]}" | median); nhc=$(echo "${nh_cpu[@]}" | median); np=$(echo "${n_p99[@]}" | median)
    fi
    local row
    row=$(awk -v l="$label" -v sr="$sr" -v nr="$nr" -v sp="$sp" -v np="$np" -v sc="$sc" -v nc="$nc" -v hc="$hc" -v nhc="$nhc" -v e="$errors" \
        -v all="${s_rps[*]} / ${n_rps[*]:-}" 'BEGIN {
        printf "| %s | %.0f | %s | %s | %.0f | %s | %.1f | %s | %s | %.1f / %s | %d | %s |", l, sr, (nr > 0 ? sprintf("%.0f", nr) : "-"),
            (nr > 0 ? sprintf("%.2f", sr / nr) : "-"), sp, (np > 0 ? sprintf("%.0f", np) : "-"), sc, (nc > 0 ? sprintf("%.1f", nc) : "-"),
            (nc > 0 ? sprintf("%.2f", sc / nc) : "-"), hc, (nr > 0 ? sprintf("%.1f", nhc) : "-"), e, all }')
    rows+=("$row")
    echo "$row" >&2
}

compare "cached 1 KiB (strata hit vs nginx static file)" "$cache_pid" "http://127.0.0.1:$CACHE_PORT/cached/1k.txt" \
    "http://127.0.0.1:$NGINX_PORT/static/1k.txt" "$nginx_workers" ""
compare "proxy 1 KiB (vs nginx proxy_pass, keep-alive upstream)" "$web_pid" "http://127.0.0.1:$WEB_PORT/proxy/1k.txt" \
    "http://127.0.0.1:$NGINX_PORT/proxy/1k.txt" "$nginx_workers" "$upstream_workers"
compare "FastCGI hello.php (vs nginx fastcgi_pass, same php-fpm pool)" "$web_pid" "http://127.0.0.1:$WEB_PORT/php/hello.php" \
    "http://127.0.0.1:$NGINX_PORT/php/hello.php" "$nginx_workers" "$fpm_workers"
compare "FastCGI hello.php (vs nginx fastcgi_pass with kept connections)" "$web_pid" "http://127.0.0.1:$WEB_PORT/php/hello.php" \
    "http://127.0.0.1:$NGINX_PORT/php-kept/hello.php" "$nginx_workers" "$fpm_workers"
compare "CGI /bin/sh script per request (no reference)" "$web_pid" "http://127.0.0.1:$WEB_PORT/cgi/hello.sh" "" - ""

# /fortunes through web, app and data tiers: uncached against the public page's cache hits.
fortunes_row() { # label path
    local r=() c=() p=() rps p99 cpu
    for _ in $(seq 1 "$ROUNDS"); do
        read -r rps _ p99 _ cpu _ < <(measure "http://127.0.0.1:$STACK_PORT$2" "$CONNS" "" "$stack_web")
        r+=("$rps"); c+=("$cpu"); p+=("$(micros "$p99")")
    done
    echo "| $1 | $(echo "${r[@]}" | median) | $(echo "${p[@]}" | median) | $(echo "${c[@]}" | median) | ${r[*]} |"
}
fortunes=("$(fortunes_row "/fortunes, uncached (web → app → data → SQLite)" /fortunes)"
    "$(fortunes_row "/fortunes/public, from strata-web's cache" /fortunes/public)")

echo
echo "$LOOPS workers each, wrk -t2 -c$CONNS, $ROUNDS alternating rounds of $DURATION s, medians; strata-web per-client limit off"
echo
echo "| test | strata req/s | nginx req/s | ratio | strata p99 µs | nginx p99 µs | strata-web CPU µs/req | nginx CPU µs/req | CPU ratio | upstream CPU µs/req (strata / nginx) | errors | rounds (strata / nginx req/s) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for row in "${rows[@]}"; do echo "$row"; done
echo
echo "| page | req/s | p99 µs | strata-web CPU µs/req | rounds |"
echo "|---|---|---|---|---|"
for row in "${fortunes[@]}"; do echo "$row"; done
