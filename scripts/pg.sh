#!/usr/bin/env bash
# A PostgreSQL cluster owned by the project, under var/pg (port $TAPSERVER_PGPORT, default 5439).
#   scripts/pg.sh start | stop | url
# It is used only when TAPSERVER_DATABASE_URL is not set; no system service is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${TAPSERVER_PGPORT:-5439}
BIN=/usr/lib/postgresql/15/bin
ROOT=$(pwd)/var
DATA=$ROOT/pg
RUN=$ROOT/run

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  url)
    echo "postgresql://postgres@127.0.0.1:${PORT}/tapserver"
    ;;
  start)
    mkdir -p "$ROOT"
    if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$ROOT"; then
      # The checkout is not reachable by the postgres user (e.g. a private temp dir): keep the
      # cluster in a directory it can reach and link it from var/.
      alt=/var/tmp/tapserver-pg-$(echo "$ROOT" | md5sum | cut -c1-12)
      mkdir -p "$alt"; chmod 755 "$alt"
      DATA=$alt/pg; RUN=$alt/run
      ln -sfn "$DATA" "$ROOT/pg"
    fi
    mkdir -p "$DATA" "$RUN"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$DATA" "$RUN"; fi
    chmod 700 "$DATA"
    if [ ! -f "$DATA/PG_VERSION" ]; then
      as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
      :
    elif (exec 3<>"/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null; then
      echo "port ${PORT} is taken by another server; set TAPSERVER_PGPORT to a free port" >&2
      exit 1
    fi
    if as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
      echo "project PostgreSQL already running on 127.0.0.1:${PORT}"
    else
      as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start \
        -o "-p ${PORT} -k ${RUN} -c listen_addresses=127.0.0.1 -c max_connections=200" >/dev/null
      echo "project PostgreSQL started on 127.0.0.1:${PORT} (data in $DATA)"
    fi
    ;;
  stop)
    if [ -f "$DATA/PG_VERSION" ]; then as_owner "$BIN/pg_ctl" -D "$DATA" -m fast stop >/dev/null || true; fi
    ;;
  *)
    echo "usage: $0 start|stop|url" >&2; exit 2
    ;;
esac
