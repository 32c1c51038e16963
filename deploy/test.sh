#!/usr/bin/env bash
# Brings deploy/docker-compose.yml up for real, with podman and podman-compose
# (Docker and Docker Compose where present), and checks the stack through the
# published web port only. Tears everything it started down by itself.
#
#   bash deploy/test.sh
#
# No registry is reachable here, so the images are built locally: a Debian 12
# root file system from debootstrap (kept as localhost/strata-test-base between
# runs), the strata image from deploy/Dockerfile with executables built on this
# machine, a PostgreSQL 15 image tagged postgres:15 as the compose file names
# it, and the `ha` profile's image (deploy/ha). The compose file itself is used
# as users run it: first as it is, then with the `ha` profile, whose leader is
# killed under it.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

deadline_seconds=${DEPLOY_TEST_SECONDS:-900}
project=strata-deploy-test
# The tag names what the root holds: a new runtime library means a new tag.
base_image=localhost/strata-test-base:bookworm-patroni
work="$(mktemp -d /tmp/strata-deploy-test.XXXXXX)"
started=$SECONDS

say() { printf '[deploy/test %3ds] %s\n' "$((SECONDS - started))" "$*"; }
fail() {
    say "FAILED: $*"
    exit 1
}
need() { command -v "$1" >/dev/null || fail "$1 is not installed (.ci/run installs it)"; }
# Whether text $2 contains $1. Not `producer | grep -q`: under pipefail, grep
# quitting at the first match can fail the producer with SIGPIPE.
has() { [[ "$2" == *"$1"* ]]; }
for tool in podman podman-compose debootstrap iptables curl openssl prometheus; do need "$tool"; done
# Profiles (the `ha` one) need podman-compose 1.1 or later; Debian 12's is 1.0.3.
compose_version=$(podman-compose version 2>/dev/null | sed -n 's/^podman-compose version \([0-9.]*\).*/\1/p' | head -1)
[ "$(printf '%s\n' 1.1 "$compose_version" | sort -V | head -1)" = 1.1 ] ||
    fail "podman-compose '$compose_version' has no profiles; 1.1 or later is needed (.ci/run installs it with pip)"

# The settings podman needs on these machines (crun fails; no systemd, no ulimits to set).
cat >"$work/containers.conf" <<'EOF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF="$work/containers.conf"

compose() { timeout 300 podman-compose -p "$project" -f deploy/docker-compose.yml "$@"; }
# `up -d` into LOG, with compose's global options first. Run a second time when
# the first fails: podman 4.3 (Debian 12) starts a container's exited one-shot
# dependencies (certs, migrate) again whenever it starts one that requires them,
# and refuses the next start while they are between states ("container state
# improper"); the second `up` starts what the first left. Neither Docker
# Compose nor podman 5 needs it; the test says when it happened.
compose_up() {
    local log=$1
    shift
    compose "$@" up -d --no-build >"$log" 2>&1 && return 0
    say "compose up failed once (podman 4.3's dependency restarts), running it again"
    compose "$@" up -d --no-build >>"$log" 2>&1
}

teardown() {
    local status=$?
    if [ "$status" -ne 0 ]; then
        say "logs of every container, for the failure above:"
        for container in $(podman ps -a --filter "label=io.podman.compose.project=$project" --format '{{.Names}}'); do
            echo "--- $container"
            podman logs --tail 40 "$container" 2>&1 || true
        done
    fi
    say "tearing down"
    [ -n "${prometheus_pid:-}" ] && kill "$prometheus_pid" 2>/dev/null
    # -v: the image's VOLUME /data gives every strata container an anonymous volume too.
    compose --env-file "$root/deploy/ha.env" down -v >/dev/null 2>&1 || true
    # --depend: containers made with --requires go only after those that require them.
    podman ps -a -q --filter "label=io.podman.compose.project=$project" | xargs -r podman rm -f -v --depend >/dev/null 2>&1 || true
    podman volume ls -q | grep "^${project}_" | xargs -r podman volume rm -f >/dev/null 2>&1 || true
    podman network ls -q | grep "^${project}_" | xargs -r podman network rm -f >/dev/null 2>&1 || true
    rm -rf "$work"
    exit "$status"
}
trap teardown EXIT

# Waits (bounded) until `$@` succeeds.
wait_for() {
    local what=$1 seconds=$2
    shift 2
    local until=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $until ] || fail "$what: not within ${seconds}s"
        [ $((SECONDS - started)) -lt "$deadline_seconds" ] || fail "the whole test ran over ${deadline_seconds}s"
        sleep 1
    done
}

say "building release executables (static Swift runtime)"
swift build -c release --static-swift-stdlib >"$work/build.log" 2>&1 || {
    tail -30 "$work/build.log"
    fail "release build"
}
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)"
mkdir -p "$work/context/staging"
cp "$bin/strata" "$bin/strata-web" "$bin/strata-app" "$bin/strata-data" "$work/context/staging/"
cp -R "$bin"/*.resources "$work/context/staging/"
cp -R Migrations "$work/context/Migrations"

if ! podman image exists "$base_image"; then
    say "making the Debian 12 base image with debootstrap"
    debootstrap --variant=minbase --include=libsqlite3-0,libpq5,libssl3,zlib1g,libxml2,ca-certificates,tzdata,postgresql-15,patroni,etcd-server \
        bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 || {
        tail -20 "$work/debootstrap.log"
        fail "debootstrap"
    }
    tar -C "$work/rootfs" -c . | podman import --quiet - "$base_image" >/dev/null
    rm -rf "$work/rootfs"
fi

say "building the images"
# Replaced, not left behind untagged.
podman rmi -f localhost/strata:latest localhost/strata-ha:latest docker.io/library/postgres:15 >/dev/null 2>&1 || true
podman build --quiet -f deploy/test/postgres.Containerfile --build-arg BASE="$base_image" -t docker.io/library/postgres:15 deploy/test >/dev/null
podman build --quiet -f deploy/ha/Dockerfile --build-arg BASE="$base_image" -t localhost/strata-ha:latest deploy/ha >/dev/null
podman build --quiet -f deploy/Dockerfile --build-arg BINARIES=prebuilt --build-arg RUNTIME_BASE="$base_image" \
    -t localhost/strata:latest "$work/context" >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export STRATA_WEB_PORT="127.0.0.1:$port"
export STRATA_RPC_SECRET="$(openssl rand -hex 32)"
web="http://127.0.0.1:$port"

say "compose up (web on $web)"
compose_up "$work/up.log" || {
    cat "$work/up.log"
    fail "compose up"
}
wait_for "/readyz answering 200" 180 curl -fsS "$web/readyz"
say "ready"

container() { podman ps -a --filter "label=io.podman.compose.project=$project" --filter "label=com.docker.compose.service=$1" --format '{{.Names}}'; }

# The migrate service ran once, and exited 0.
migrate=$(container migrate)
[ "$(echo "$migrate" | wc -l)" -eq 1 ] || fail "expected one migrate container, found: $migrate"
# The tiers may be ready a moment before podman has seen migrate's process end.
migrate_exited() { [ "$(podman inspect "$migrate" --format '{{.State.Status}}')" = exited ]; }
wait_for "the migrate service exiting" 30 migrate_exited
state=$(podman inspect "$migrate" --format '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}')
[ "$state" = "exited 0 0" ] || fail "migrate: status, exit code, restarts = $state"
has "applied" "$(podman logs "$migrate" 2>&1)" || fail "migrate applied nothing"
say "migrate ran once and exited 0"

# The healthchecks the compose file declares pass inside each container.
for service in data app web; do
    podman healthcheck run "$(container "$service" | head -1)" >/dev/null || fail "the $service healthcheck fails"
done
say "healthchecks pass: data, app, web"

# A browser's sign-up, a form post, and a JSON API call, all on PostgreSQL.
jar="$work/cookies"
csrf_on() { curl -fsS -c "$jar" -b "$jar" "$web$1" | grep -o -m1 'name="_csrf" value="[0-9a-f]*"' | sed 's/.*value="//; s/"//'; }
post() {
    local path=$1
    shift
    curl -sS -m 30 -o "$work/answer" -w '%{http_code}' -c "$jar" -b "$jar" "$@" "$web$path"
}
post_entry() { post /guestbook --data-urlencode "_csrf=$(csrf_on /guestbook)" --data-urlencode "name=Ann" --data-urlencode "message=$1"; }
code=$(post /signup --data-urlencode "_csrf=$(csrf_on /signup)" --data-urlencode "email=ann@example.com" \
    --data-urlencode "name=Ann" --data-urlencode "password=correct horse battery")
[ "$code" = 303 ] || fail "sign-up answered $code: $(head -c 300 "$work/answer")"
message="Hello from compose $RANDOM"
code=$(post_entry "$message")
[ "$code" = 303 ] || fail "guestbook post answered $code"
has "$message" "$(curl -fsS "$web/guestbook")" || fail "the guestbook entry is not on the page"
code=$(post /account/tokens --data-urlencode "_csrf=$(csrf_on /account)" --data-urlencode "name=deploy-test")
[ "$code" = 303 ] || fail "token creation answered $code"
token=$(curl -fsS -c "$jar" -b "$jar" "$web/account" | grep -o -m1 'strata_[0-9a-f]\{64\}' || true)
[ -n "$token" ] || fail "no API token on the account page"
has '"Ann"' "$(curl -fsS -H "Authorization: Bearer $token" "$web/api/me")" || fail "/api/me with the token"
code=$(curl -sS -o "$work/answer" -w '%{http_code}' -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"title":"ship it"}' "$web/api/todos")
[ "$code" = 200 ] || [ "$code" = 201 ] || fail "POST /api/todos answered $code: $(cat "$work/answer")"
has '"ship it"' "$(curl -fsS "$web/api/todos")" || fail "the todo is not listed"
say "sign-up, form post and JSON API work on PostgreSQL"

# Three app replicas: the web tier re-resolves `app` (every 10 s) and spreads calls over all of them.
containers_of() { container "$1" | sort; }
address_of() { podman inspect "$1" --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'; }
# Exported, as a user would keep it set: a `down` without it knows one app
# replica only, and podman-compose cannot remove the data tier the other two require.
export STRATA_APP_REPLICAS=3
compose_up "$work/scale.log" || fail "compose up with 3 app replicas: $(cat "$work/scale.log")"
app_replicas_healthy() {
    [ "$(containers_of app | wc -l)" -eq 3 ] || return 1
    for replica in $(containers_of app); do podman healthcheck run "$replica" >/dev/null || return 1; done
}
wait_for "three healthy app replicas" 120 app_replicas_healthy
calls_on() { curl -fsS "http://$(address_of "$1"):7101/metrics" | awk '/^strata_rpc_server_calls_total\{method="guestbook.list",code="ok"\}/ {print $2}'; }
every_replica_served() {
    for _ in $(seq 20); do curl -fsS -o /dev/null "$web/guestbook" || return 1; done
    for replica in $(containers_of app); do [ "$(calls_on "$replica")" -gt 0 ] 2>/dev/null || return 1; done
}
wait_for "guestbook.list calls on every app replica" 90 every_replica_served
for replica in $(containers_of app); do say "  $replica answered $(calls_on "$replica") guestbook.list calls"; done

# A real Prometheus scrapes every tier's health port and answers a query over what it scraped.
prometheus_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
{
    echo "global: {scrape_interval: 1s, scrape_timeout: 1s}"
    echo "scrape_configs:"
    echo "  - job_name: strata"
    echo "    static_configs:"
    echo "      - targets: ['$(address_of "$(container web)"):7100', '$(address_of "$(container data)"):7102']"
    echo "        labels: {tier: web-or-data}"
    echo "      - targets: [$(for replica in $(containers_of app); do printf "'%s:7101'," "$(address_of "$replica")"; done)]"
    echo "        labels: {tier: app}"
} >"$work/prometheus.yml"
promtool check config "$work/prometheus.yml" >/dev/null || fail "promtool check config: $(cat "$work/prometheus.yml")"
setsid prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus-data" \
    --web.listen-address="127.0.0.1:$prometheus_port" >"$work/prometheus.log" 2>&1 &
prometheus_pid=$!
query() { curl -fsS --get "http://127.0.0.1:$prometheus_port/api/v1/query" --data-urlencode "query=$1"; }
five_targets_up() { has '"5"]' "$(query 'count(up == 1)')"; }
wait_for "Prometheus scraping five targets" 60 five_targets_up
per_replica=$(query 'count(sum by (instance) (strata_rpc_server_calls_total{method="guestbook.list"}) > 0)')
has '"3"]' "$per_replica" || fail "Prometheus does not see calls on three replicas: $per_replica"
requests=$(query 'sum(strata_http_requests_total{route="/guestbook"})' | grep -o '"value":\[[^]]*\]')
say "Prometheus scraped 5 targets; app replicas with calls: 3; web's /guestbook requests: $requests"

# Down and up again: the named volume keeps the data.
containers_left() { podman ps -a -q --filter "label=io.podman.compose.project=$project" | wc -l; }
compose down >"$work/down.log" 2>&1 || fail "compose down: $(cat "$work/down.log")"
[ "$(containers_left)" -eq 0 ] || fail "compose down left $(containers_left) containers: $(cat "$work/down.log")"
compose_up "$work/up2.log" || fail "compose up again: $(cat "$work/up2.log")"
wait_for "/readyz after down and up" 180 curl -fsS "$web/readyz"
has "$message" "$(curl -fsS "$web/guestbook")" || fail "the guestbook entry did not survive down and up"
has '"ship it"' "$(curl -fsS "$web/api/todos")" || fail "the todo did not survive down and up"
say "down and up again keeps the data"

# The `ha` profile: etcd and two PostgreSQL nodes under Patroni, the data tier
# writing to the leader and reading from the standby, as deploy/ha.env sets it.
compose down -v >"$work/down.log" 2>&1 || fail "compose down -v: $(cat "$work/down.log")"
[ "$(containers_left)" -eq 0 ] || fail "compose down -v left $(containers_left) containers: $(cat "$work/down.log")"
compose_up "$work/ha-up.log" --env-file "$root/deploy/ha.env" || {
    cat "$work/ha-up.log"
    fail "compose up with the ha profile"
}
wait_for "/readyz on the ha profile" 240 curl -fsS "$web/readyz"
say "ha profile: the stack is ready"
# Patroni's REST API: /primary answers 200 on the leader, /sync on the synchronous standby.
role_of() {
    local address
    address=$(address_of "$(container "$1")")
    if curl -fsS -m 3 -o /dev/null "http://$address:8008/primary" 2>/dev/null; then
        echo leader
    elif curl -fsS -m 3 -o /dev/null "http://$address:8008/sync" 2>/dev/null; then
        echo sync_standby
    else
        echo none
    fi
}
cluster_formed() { [[ "$(role_of pg-1) $(role_of pg-2)" =~ ^(leader\ sync_standby|sync_standby\ leader)$ ]]; }
wait_for "a leader and a synchronous standby" 180 cluster_formed
leader=pg-1
[ "$(role_of pg-1)" = leader ] || leader=pg-2
say "ha profile ready: $leader leads, the other node is its synchronous standby"

rm -f "$jar"
for n in 1 2 3 4 5; do
    code=$(post_entry "before failover $n")
    [ "$code" = 303 ] || fail "guestbook post $n on the ha profile answered $code"
done
reads_on_standby() {
    for _ in $(seq 10); do curl -fsS -o /dev/null "$web/guestbook" || return 1; done
    local count
    count=$(curl -fsS "http://$(address_of "$(container data)"):7102/metrics" | awk '/^strata_sql_reads_total\{served_by="replica"\}/ {print $2}')
    [ "${count:-0}" -gt 0 ] 2>/dev/null
}
wait_for "plain reads served by the standby" 60 reads_on_standby

# The leader's container is killed outright; Patroni promotes the standby.
killed=$(date +%s%N)
podman kill --signal KILL "$(container "$leader")" >/dev/null
has "before failover 5" "$(curl -fsS -m 30 "$web/guestbook")" || fail "reads stopped while the leader was gone"
acknowledged=()
attempt=0
until [ "${#acknowledged[@]}" -gt 0 ]; do
    attempt=$((attempt + 1))
    [ $(($(date +%s%N) - killed)) -lt 120000000000 ] || fail "no write succeeded within 120 s of killing the leader"
    # A timeout or refused connection while no node leads is one more failed attempt.
    code=$(post_entry "after failover $attempt") || code=000
    if [ "$code" = 303 ]; then acknowledged+=("after failover $attempt"); else sleep 0.5; fi
done
elapsed_ms=$((($(date +%s%N) - killed) / 1000000))
page=$(curl -fsS "$web/guestbook")
for n in 1 2 3 4 5; do has "before failover $n" "$page" || fail "'before failover $n' was acknowledged before the failover and is gone"; done
for entry in "${acknowledged[@]}"; do has "$entry" "$page" || fail "'$entry' was acknowledged and is gone"; done
say "leader killed: writes again after ${elapsed_ms} ms ($attempt attempts), reads answered meanwhile, no acknowledged entry lost"

# The old leader rejoins as the synchronous standby (pg_rewind where needed).
podman start "$(container "$leader")" >/dev/null
rejoined() { [ "$(role_of "$leader")" = sync_standby ]; }
wait_for "$leader back as the synchronous standby" 180 rejoined
say "$leader rejoined as the synchronous standby"

say "passed in $((SECONDS - started))s"
