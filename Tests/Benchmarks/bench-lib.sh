# Shared by the *-bench.sh scripts (sourced): a work folder removed on exit
# with the processes started (add their PIDs to `pids`), CPU ticks from
# /proc, one wrk run with the server's CPU per request, and medians. Needs
# DURATION set.

hz=$(getconf CLK_TCK)

# bench_workspace PREFIX: sets `work` to a new folder; it and every PID in `pids` go on exit.
pids=()
bench_workspace() {
    work=$(mktemp -d "/tmp/$1-XXXXXX")
    trap bench_cleanup EXIT
}
bench_cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}

ticks() { # pids... -> utime+stime in clock ticks, summed
    local total=0 pid
    for pid in "$@"; do
        total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    echo "$total"
}

# One wrk run: "rps p50 p99 errors cpu_us_per_request other_cpu_us_per_request"
measure() { # url connections header pids-of-server -- pids-of-helper
    local url=$1 conns=$2 header=$3; shift 3
    local server=() helper=() side=server
    for pid in "$@"; do
        if [ "$pid" = -- ]; then side=helper; continue; fi
        if [ $side = server ]; then server+=("$pid"); else helper+=("$pid"); fi
    done
    local before after hbefore hafter out
    before=$(ticks "${server[@]}")
    hbefore=$( [ ${#helper[@]} -gt 0 ] && ticks "${helper[@]}" || echo 0)
    if [ -n "$header" ]; then
        out=$(wrk -t2 -c"$conns" -d"${DURATION}s" --latency -H "$header" "$url" 2>&1)
    else
        out=$(wrk -t2 -c"$conns" -d"${DURATION}s" --latency "$url" 2>&1)
    fi
    after=$(ticks "${server[@]}")
    hafter=$( [ ${#helper[@]} -gt 0 ] && ticks "${helper[@]}" || echo 0)
    awk -v before="$before" -v after="$after" -v hb="$hbefore" -v ha="$hafter" -v hz="$hz" '
        /requests in/ {requests = $1}
        /Requests\/sec/ {rps = $2}
        $1 == "50%" {p50 = $2}
        $1 == "99%" {p99 = $2}
        /Non-2xx|Socket errors/ {errors += $NF}
        END {
            cpu = requests > 0 ? (after - before) * 1e6 / hz / requests : 0
            other = requests > 0 ? (ha - hb) * 1e6 / hz / requests : 0
            printf "%s %s %s %d %.1f %.1f\n", rps, p50, p99, errors, cpu, other
        }' <<<"$out"
}

# Latencies as wrk prints them (123.45us, 1.20ms) to microseconds.
micros() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); print v+0} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v*1000} else if (v ~ /s$/) {sub(/s$/,"",v); print v*1e6} else print 0}' <<<"$1"; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }
