#!/bin/bash
# The DaCHS service of docker/compose.yaml: create the DaCHS instance under
# $MUSEDC_HOME/vo ('musedc vo init') or refresh it, then run DaCHS in the foreground until
# SIGTERM. Needs the qc schema migrated first ('musedc db migrate'): until then it exits
# with that message, and compose restarts it.
#
# Why not 'musedc vo serve': that starts DaCHS in the background with a pid file, for
# the demo and development; here DaCHS runs in the foreground under compose ('serve
# start --foreground', the same mode, through vo/dachs_launch.py so that the users'
# scrypt passwords work).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
home=${MUSEDC_HOME:?MUSEDC_HOME is not set}
vo_root=$home/vo

# 'musedc vo init' is idempotent: a new instance gets 'dachs init', an existing one
# 'dachs upgrade', a regenerated gavo.rc (MUSEDC_VO_* may have changed; links always
# from serverURL, adaptProtocol off), the resource descriptors and obscore refreshed.
"$here/.venv/bin/musedc" vo init

cd "$vo_root"
exec env -i GAVOSETTINGS="$vo_root/gavo.rc" HOME="$vo_root" PATH=/usr/bin:/bin \
    LC_ALL=C.UTF-8 /usr/bin/python3 "$here/vo/dachs_launch.py" serve start --foreground
