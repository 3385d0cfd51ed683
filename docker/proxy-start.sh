#!/bin/sh
# The proxy service: list every DaCHS process as an upstream (docker/dachs-serve.sh starts
# MUSEDC_DACHS_PROCESSES of them, 0 or unset: one per core, on consecutive ports from
# MUSEDC_VO_PORT on MUSEDC_DACHS_HOST), then run Caddy with docker/Caddyfile.
set -eu
n=${MUSEDC_DACHS_PROCESSES:-0}
[ "$n" -gt 0 ] || n=$(nproc)
host=${MUSEDC_DACHS_HOST:-dachs}
port=${MUSEDC_VO_PORT:-8090}
upstreams=""
i=0
while [ "$i" -lt "$n" ]; do
    upstreams="$upstreams $host:$((port + i))"
    i=$((i + 1))
done
MUSEDC_DACHS_UPSTREAMS=${upstreams# }
export MUSEDC_DACHS_UPSTREAMS
exec caddy run --config /etc/caddy/Caddyfile --adapter caddyfile
