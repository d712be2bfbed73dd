#!/usr/bin/env bash
# stop-dachs.sh -- stop the DaCHS server started by start-dachs.sh
# (run through `cargo xtask dachs stop [--with-postgres]`).
#   --with-postgres   also stop the PostgreSQL 15/main cluster
# Uses DaCHS' own PID file (/var/gavo/state/web.pid) via `dachs serve stop`
# (SIGTERM to that PID); never kills by process name.
set -euo pipefail
PGVER=15
PIDFILE=/var/gavo/state/web.pid
[ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }

if [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  pid=$(cat "$PIDFILE")
  echo "stopping DaCHS (pid $pid)" >&2
  (cd / && env -i LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin dachs serve stop) || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "DaCHS pid $pid still alive; sending SIGTERM" >&2
    kill -TERM "$pid" || true
  fi
else
  echo "DaCHS not running" >&2
  rm -f "$PIDFILE"
fi

if [ "${1:-}" = "--with-postgres" ]; then
  if pg_lsclusters -h 2>/dev/null | awk -v v="$PGVER" '$1==v && $2=="main" {print $4}' | grep -qx online; then
    echo "stopping PostgreSQL $PGVER/main" >&2
    pg_ctlcluster "$PGVER" main stop
  fi
fi
