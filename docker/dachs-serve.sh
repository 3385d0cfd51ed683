#!/bin/bash
# The DaCHS service of docker/compose.yaml: create the DaCHS instance under
# $MUSEDC_HOME/vo ('musedc vo init') or refresh it, then run MUSEDC_DACHS_PROCESSES DaCHS
# server processes (0 or unset: one per core) in the foreground until SIGTERM, on ports
# MUSEDC_VO_PORT, MUSEDC_VO_PORT+1, ... Needs the qc schema migrated first ('musedc db
# migrate'): until then it exits with that message, and compose restarts it.
#
# Why several: DaCHS is GIL-bound, one process answers concurrent TAP queries no faster
# than one at a time. The processes share the instance (rootDir: resource descriptors,
# the async job store uwsWD under state/uwsjobs) and the database (users, sessions, job
# table), so any of them answers any request; each has its own port, pid file (stateDir)
# and logs (logDir): a copy of the generated gavo.rc. The proxy spreads the requests
# (docker/Caddyfile, MUSEDC_DACHS_UPSTREAMS). If one process dies, all are stopped and
# the service exits, so that compose restarts it whole.
#
# Why not 'musedc vo serve': that starts DaCHS in the background with a pid file, for
# the demo and development; here DaCHS runs in the foreground under compose ('serve
# start --foreground', the same mode, through qcservice/vo/dachs/dachs_launch.py so that the users'
# scrypt passwords work). MUSEDC_DACHS_SKIP_INIT=1 skips 'musedc vo init' (benchmarks
# that made the instance themselves).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
home=${MUSEDC_HOME:?MUSEDC_HOME is not set}
vo_root=$home/vo
processes=${MUSEDC_DACHS_PROCESSES:-0}
port=${MUSEDC_VO_PORT:-8090}
case "$processes" in ''|*[!0-9]*) echo "MUSEDC_DACHS_PROCESSES=$processes: want a count" \
    "(0: one per core)" >&2; exit 2 ;; esac
[ "$processes" -gt 0 ] || processes=$(nproc)

# 'musedc vo init' is idempotent: a new instance gets 'dachs init', an existing one
# 'dachs upgrade', a regenerated gavo.rc (MUSEDC_VO_* may have changed; links always
# from serverURL, adaptProtocol off), the resource descriptors and obscore refreshed.
[ "${MUSEDC_DACHS_SKIP_INIT:-0}" = 1 ] || "$here/.venv/bin/musedc" vo init

cd "$vo_root"
pids=()
stop() { kill -TERM "${pids[@]}" 2>/dev/null || true; }
trap stop TERM INT
for ((i = 0; i < processes; i++)); do
    rc=$vo_root/gavo.rc
    if [ "$i" -gt 0 ]; then  # process i: its own port, pid file and logs
        rc=$vo_root/gavo-$i.rc
        install -d "$vo_root/state-$i" "$vo_root/logs-$i"
        # as root DaCHS drops to its [web]user, who must write there
        [ "$(id -u)" -ne 0 ] || chown --reference="$vo_root/logs" \
            "$vo_root/state-$i" "$vo_root/logs-$i"
        sed -e "s/^serverPort: .*/serverPort: $((port + i))/" \
            -e "/^\[general\]/a stateDir: $vo_root/state-$i\nlogDir: $vo_root/logs-$i" \
            "$vo_root/gavo.rc" > "$rc.new"
        mv "$rc.new" "$rc"
    fi
    env -i GAVOSETTINGS="$rc" HOME="$vo_root" PATH=/usr/bin:/bin LC_ALL=C.UTF-8 \
        /usr/bin/python3 "$here/qcservice/vo/dachs/dachs_launch.py" serve start --foreground &
    pids+=($!)
done
echo "[dachs-serve] $processes DaCHS processes on ports $port..$((port + processes - 1))" >&2
status=0
wait -n "${pids[@]}" || status=$?
stop
wait || true
exit "$status"
