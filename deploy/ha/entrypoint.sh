#!/bin/sh
# One member of the compose `ha` profile's database layout, run as a user of
# its own (the container starts as root to own its volume):
#   strata-ha etcd      the store Patroni keeps the leader key in
#   strata-ha patroni   a PostgreSQL 15 node under Patroni; PATRONI_NAME names it
#   strata-ha post-bootstrap URL
#                       run by Patroni once, on the node that makes the cluster:
#                       the application's role and database
# Passwords come from the environment (PATRONI_SUPERUSER_PASSWORD,
# PATRONI_REPLICATION_PASSWORD, POSTGRES_PASSWORD), never from the file.
set -eu
as() { user=$1; shift; exec setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups "$@"; }

case "${1:-}" in
etcd)
    mkdir -p /var/lib/etcd
    chown nobody /var/lib/etcd
    chmod 700 /var/lib/etcd
    as nobody etcd --name etcd --data-dir /var/lib/etcd \
        --listen-client-urls http://0.0.0.0:2379 --advertise-client-urls http://etcd:2379 \
        --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
        --initial-cluster etcd=http://127.0.0.1:2380
    ;;
patroni)
    : "${PATRONI_NAME:?PATRONI_NAME must name this node, for example pg-1}"
    : "${PATRONI_SUPERUSER_PASSWORD:?}" "${PATRONI_REPLICATION_PASSWORD:?}" "${POSTGRES_PASSWORD:?}"
    mkdir -p /var/lib/postgresql/data /run/postgresql
    chown postgres:postgres /var/lib/postgresql/data /run/postgresql
    chmod 700 /var/lib/postgresql/data
    # Failover within about ttl seconds of the leader's last word; Patroni
    # needs loop_wait + 2 × retry_timeout <= ttl. 10 s puts writes back well
    # inside 15 s of a leader's death; on a network or an etcd that stalls
    # for seconds, raise all three (Patroni's defaults are 30, 10, 10) to
    # trade failover time for fewer needless failovers. Synchronous
    # replication: a commit is acknowledged once the standby has it, so a
    # failover loses no acknowledged write.
    cat >/run/postgresql/patroni.yml <<YAML
scope: strata
name: ${PATRONI_NAME}
restapi:
  listen: 0.0.0.0:8008
  connect_address: ${PATRONI_NAME}:8008
etcd3:
  hosts: etcd:2379
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 2
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_wal_senders: 10
        max_replication_slots: 10
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
    - data-checksums
  pg_hba:
    - local all all trust
    - host replication replicator all scram-sha-256
    - host all all all scram-sha-256
  post_bootstrap: /usr/local/bin/strata-ha post-bootstrap
postgresql:
  listen: 0.0.0.0:5432
  connect_address: ${PATRONI_NAME}:5432
  data_dir: /var/lib/postgresql/data/pgdata
  bin_dir: /usr/lib/postgresql/15/bin
  pgpass: /run/postgresql/pgpass
  # A new standby copies the leader at once, not after a spread checkpoint (minutes).
  basebackup:
    - checkpoint: fast
  authentication:
    superuser:
      username: postgres
    replication:
      username: replicator
YAML
    chown postgres:postgres /run/postgresql/patroni.yml
    as postgres patroni /run/postgresql/patroni.yml
    ;;
post-bootstrap)
    # The role owns its database, so it can create tables in its public schema (PostgreSQL 15).
    psql "$2" -v ON_ERROR_STOP=1 -q -v password="$POSTGRES_PASSWORD" <<'SQL'
CREATE ROLE strata LOGIN PASSWORD :'password';
CREATE DATABASE strata OWNER strata;
SQL
    echo "strata-ha: made role and database strata"
    ;;
*)
    echo "usage: strata-ha etcd | patroni | post-bootstrap URL" >&2
    exit 64
    ;;
esac
