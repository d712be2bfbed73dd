#!/usr/bin/env bash
# start-dachs.sh -- bring up a local GAVO DaCHS VO server on 127.0.0.1 for
# integration tests and benchmarks.  Run through `cargo xtask dachs start`.
# Idempotent; run as root on Debian 12 (bookworm).  Works without systemd (starts PostgreSQL with pg_ctlcluster and
# DaCHS with `dachs serve start`, which daemonizes and writes a PID file).
#
# What it does (each step is skipped when already done):
#   1. apt: postgresql + postgresql-15-pgsphere + postgresql-15-q3c, then
#      start the 15/main cluster (must be up BEFORE gavodachs2-server is
#      configured: its postinst runs createdb/`dachs init` against it);
#   2. writes /etc/gavo.rc (port, serverURL, authority), installs
#      gavodachs2-server (postinst creates users gavo/dachsroot, DB "gavo",
#      /var/gavo);
#   3. installs ./userconfig.rd (TAP examples) to /var/gavo/etc/, copies
#      ./rd/*/q.rd to /var/gavo/inputs/*/ and generates the test data
#      there with ./gen_data.py (Debian python3-numpy/astropy), with
#      DACHS_ROWS catalogue rows;
#   4. `dachs imp` + `dachs pub` (only when RDs/generator/config/row count
#      changed);
#   5. starts (or restarts, if something changed) `dachs serve` and waits until
#      http://127.0.0.1:$PORT/tap/availability says available.
#
# Environment:
#   DACHS_PORT          HTTP port (default 18080)
#   DACHS_WAIT          seconds to wait for the server to answer (default 120)
#   DACHS_FORCE_IMPORT  1 = re-import even if nothing changed
#   DACHS_ROWS          rows in the test catalogue vocat.main (default 5000;
#                       e.g. 1000000 for benchmarks)
# Prints the base URL on stdout as the last line (e.g. http://127.0.0.1:18080).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${DACHS_PORT:-18080}"
WAIT="${DACHS_WAIT:-120}"
ROWS="${DACHS_ROWS:-5000}"
PGVER=15
GAVO=/var/gavo
PIDFILE="$GAVO/state/web.pid"
# own stamp (not the reference recipe's), so that the two do not re-import
# each other's identical data back and forth
STAMP="$GAVO/state/xtask-import.sha256"
IMPLOG="$GAVO/logs/xtask-import.log"
BASE="http://127.0.0.1:$PORT"
RDS=(vocat voimg vospec)
T0=$(date +%s)

log() { printf '[start-dachs +%ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"
case "$ROWS" in ''|*[!0-9]*|0) die "DACHS_ROWS must be a positive integer, got '$ROWS'";; esac
export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=600)
APT_UPDATED=""
APTLOG=/var/tmp/start-dachs-apt.log

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

apt_install() {
  local missing=() p
  for p in "$@"; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "$APT_UPDATED" ]; then
    log "apt-get update"
    apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null
    APT_UPDATED=1
  fi
  log "apt-get install ${missing[*]}"
  # private TMPDIR for apt's unpack symlinks; retry because a concurrent
  # apt-get clean / tmp cleaner / network hiccup can break one attempt
  local try tmpd
  tmpd=$(mktemp -d /var/tmp/start-dachs-apt.XXXXXX)
  for try in 1 2 3; do
    if TMPDIR="$tmpd" apt-get install "${APT_OPTS[@]}" "${missing[@]}" >>"$APTLOG" 2>&1; then
      rm -rf "$tmpd"; return 0
    fi
    log "apt-get install failed (attempt $try, see $APTLOG); retrying"
    dpkg --configure -a >>"$APTLOG" 2>&1 || true
    sleep 2
  done
  rm -rf "$tmpd"
  tail -n 30 "$APTLOG" >&2
  die "apt-get install ${missing[*]} failed"
}

# dachs CLI with a clean environment (no pyenv/venv python on PATH; the
# Debian scripts use /usr/bin/python3 anyway).
dachs_env() { env -i LANG=C.UTF-8 HOME=/nonexistent PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
as_dachsroot() { (cd "$GAVO/inputs" && dachs_env runuser -u dachsroot -- "$@"); }
# run a dachs admin command as dachsroot, output to $IMPLOG (shown on failure)
dachs_admin() {
  if ! as_dachsroot dachs "$@" >>"$IMPLOG" 2>&1; then
    tail -n 40 "$IMPLOG" >&2
    die "dachs $* failed (full log: $IMPLOG)"
  fi
}

server_running() {
  [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

# ---------------------------------------------------------------- 1. postgres
if dpkg --audit 2>/dev/null | grep -q .; then
  log "dpkg reports unfinished packages; running dpkg --configure -a"
  dpkg --configure -a || true
fi
apt_install curl ca-certificates postgresql "postgresql-$PGVER-pgsphere" "postgresql-$PGVER-q3c"

if ! pg_lsclusters -h | awk '{print $1"/"$2}' | grep -qx "$PGVER/main"; then
  log "creating PostgreSQL cluster $PGVER/main"
  pg_createcluster "$PGVER" main >/dev/null
fi
pgport=$(pg_lsclusters -h | awk -v v="$PGVER" '$1==v && $2=="main" {print $3}')
[ "$pgport" = 5432 ] || die "cluster $PGVER/main is on port $pgport; DaCHS' default DSN expects 5432"
if [ "$(pg_lsclusters -h | awk -v v="$PGVER" '$1==v && $2=="main" {print $4}')" != online ]; then
  log "starting PostgreSQL $PGVER/main (pg_ctlcluster; no systemd needed)"
  pg_ctlcluster "$PGVER" main start
fi
for _ in $(seq 1 30); do pg_isready -q -h /var/run/postgresql -p 5432 && break; sleep 1; done
pg_isready -q -h /var/run/postgresql -p 5432 || die "PostgreSQL did not come up"

# ---------------------------------------------------------------- 2. DaCHS
GAVORC_NEW="# written by start-dachs.sh (local VO test server) -- do not edit
[general]
logLevel: info

[web]
bindAddress: 127.0.0.1
serverPort: $PORT
serverURL: $BASE
sitename: VOTEST local DaCHS

[ivoa]
authority: votest.local

[async]
maxTAPRunning: 4
"
CONFIG_CHANGED=0
if [ "$(cat /etc/gavo.rc 2>/dev/null || true)" != "$(printf '%s' "$GAVORC_NEW")" ]; then
  # written before the package is installed, so that a postinst that manages
  # to start the server (no policy-rc.d, no systemd) uses our port.
  printf '%s' "$GAVORC_NEW" > /etc/gavo.rc
  CONFIG_CHANGED=1
  log "wrote /etc/gavo.rc (port $PORT)"
fi

apt_install gavodachs2-server

if [ ! -s "$GAVO/etc/feed" ]; then
  # the postinst normally did this; redo it if it was skipped/failed
  log "running dachs init (postinst did not)"
  su postgres -c "createdb --encoding=UTF-8 --template template0 gavo" 2>/dev/null || true
  su postgres -c "createuser -s dachsroot" 2>/dev/null || true
  mkdir -p "$GAVO" && chown dachsroot "$GAVO"
  (cd / && dachs_env runuser -u dachsroot -- dachs init)
fi

# TAP examples (/tap/examples) live in the userconfig RD
if ! cmp -s "$HERE/userconfig.rd" "$GAVO/etc/userconfig.rd"; then
  install -o dachsroot -g gavo -m 0664 "$HERE/userconfig.rd" "$GAVO/etc/userconfig.rd"
  CONFIG_CHANGED=1
  log "installed $GAVO/etc/userconfig.rd (TAP examples)"
fi

# ---------------------------------------------------------------- 3. RDs + data
for rd in "${RDS[@]}"; do
  install -d -o dachsroot -g gavo -m 2775 "$GAVO/inputs/$rd"
  if ! cmp -s "$HERE/rd/$rd/q.rd" "$GAVO/inputs/$rd/q.rd"; then
    install -o dachsroot -g gavo -m 0664 "$HERE/rd/$rd/q.rd" "$GAVO/inputs/$rd/q.rd"
    log "installed RD $rd/q"
  fi
done
log "generating test data ($ROWS catalogue rows)"
/usr/bin/python3 "$HERE/gen_data.py" --rows "$ROWS" "$GAVO/inputs" >&2
for rd in "${RDS[@]}"; do chown -R dachsroot:gavo "$GAVO/inputs/$rd"; done

# ---------------------------------------------------------------- 4. import
want_hash=$( { cat "$HERE"/rd/*/q.rd "$HERE/gen_data.py" /etc/gavo.rc; echo "rows=$ROWS"; } | sha256sum | cut -d' ' -f1)
have_tables=$(su postgres -c "psql -d gavo -Atc \"select count(*) from dc.tablemeta where tablename in ('vocat.main','voimg.images','voimg.cubes','vospec.data')\"" 2>/dev/null || echo 0)
IMPORTED=0
if [ "${DACHS_FORCE_IMPORT:-0}" = 1 ] || [ "$have_tables" != 4 ] \
    || [ "$(cat "$STAMP" 2>/dev/null || true)" != "$want_hash" ]; then
  : > "$IMPLOG"; chown dachsroot:gavo "$IMPLOG"
  if [ "$(su postgres -c "psql -d gavo -Atc \"select to_regclass('ivoa._obscoresources') is not null\"")" != t ]; then
    log "dachs imp //obscore"
    dachs_admin imp //obscore
  fi
  for rd in "${RDS[@]}"; do
    log "dachs imp $rd/q"
    dachs_admin imp "$rd/q"
  done
  log "dachs pub ${RDS[*]/%//q}"
  dachs_admin pub "${RDS[@]/%//q}"
  echo "$want_hash" > "$STAMP"
  chown dachsroot:gavo "$STAMP"
  IMPORTED=1
fi

# ---------------------------------------------------------------- 5. serve
if server_running; then
  if [ "$CONFIG_CHANGED" = 1 ] || [ "$IMPORTED" = 1 ]; then
    log "restarting DaCHS (config or data changed)"
    (cd / && dachs_env dachs serve restart)
  else
    log "DaCHS already running (pid $(cat "$PIDFILE"))"
  fi
else
  if curl -s -o /dev/null --max-time 2 "$BASE/"; then
    die "something else already answers on $BASE (not the DaCHS of $PIDFILE)"
  fi
  log "starting DaCHS: dachs serve start (daemonizes, drops to user gavo)"
  (cd / && dachs_env dachs serve start)
fi

deadline=$(( $(date +%s) + WAIT ))
until curl -sf --max-time 5 "$BASE/tap/availability" 2>/dev/null | grep -q '<avl:available>true'; do
  [ "$(date +%s)" -lt "$deadline" ] || die "DaCHS did not answer on $BASE within ${WAIT}s (see $GAVO/logs/)"
  sleep 0.5
done
log "DaCHS up on $BASE (pid $(cat "$PIDFILE"), $ROWS catalogue rows); total $(( $(date +%s) - T0 ))s"
echo "$BASE"
