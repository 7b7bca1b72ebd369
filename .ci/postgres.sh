#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 for the lab server's tests (LabServerTests read
# ALIQUOT_TEST_POSTGRES_URL and skip with a message when it is absent).
#
#   .ci/postgres.sh run -- <command...>   start a cluster, export ALIQUOT_TEST_POSTGRES_URL, run the
#                                         command, stop and delete the cluster (exit status: the command's)
#   eval "$(.ci/postgres.sh start)"       start one and print the exports (ALIQUOT_TEST_POSTGRES_DIR too)
#   .ci/postgres.sh stop "$ALIQUOT_TEST_POSTGRES_DIR"
#
# Installs Debian's postgresql with apt-get when initdb is missing. initdb refuses to run as root,
# so as root the cluster belongs to the `postgres` system user (the package creates it).
set -euo pipefail

PORT="${ALIQUOT_TEST_POSTGRES_PORT:-55432}"

find_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
    done
    return 1
}

install_if_missing() {
    if ! find_bin >/dev/null; then
        echo "postgres.sh: installing postgresql (apt-get)" >&2
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2; then
            apt-get update -q >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
        fi
    fi
}

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
    install_if_missing
    local bin dir
    bin="$(find_bin)"
    dir="$(mktemp -d /tmp/aliquot-pg.XXXXXX)"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    as_owner "$bin/initdb" -D "$dir/data" -U aliquot --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2; return 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$dir -c fsync=off" start >&2 || {
        cat "$dir/server.log" >&2; return 1; }
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$PORT" -U aliquot aliquot_test >&2
    echo "export ALIQUOT_TEST_POSTGRES_DIR=$dir"
    echo "export ALIQUOT_TEST_POSTGRES_URL=postgres://aliquot@127.0.0.1:$PORT/aliquot_test"
}

stop() {
    local dir="$1" bin
    bin="$(find_bin)"
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >&2 || true
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop "${2:?usage: postgres.sh stop DIR}" ;;
    run)
        shift
        [ "${1:-}" = "--" ] && shift
        exports="$(start)"
        eval "$exports"
        trap 'stop "$ALIQUOT_TEST_POSTGRES_DIR"' EXIT
        "$@"
        ;;
    *) echo "usage: $0 run -- <command> | start | stop DIR" >&2; exit 2 ;;
esac
