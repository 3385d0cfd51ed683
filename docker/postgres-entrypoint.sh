#!/bin/bash
# The db service: on an empty volume, create the cluster (role POSTGRES_USER with
# POSTGRES_PASSWORD, database POSTGRES_DB, password logins from the network only); then
# run PostgreSQL in the foreground as the postgres user (SIGINT from compose: fast stop).
set -euo pipefail
: "${POSTGRES_USER:?}" "${POSTGRES_PASSWORD:?}" "${POSTGRES_DB:=$POSTGRES_USER}"
data=${PGDATA:-/var/lib/postgresql/data}
install -d -o postgres -g postgres -m 0700 "$data"
as_pg() { runuser -u postgres -- "$@"; }
if [ ! -s "$data/PG_VERSION" ]; then
    pwfile=$(mktemp) && chown postgres "$pwfile"
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    as_pg initdb -D "$data" -U "$POSTGRES_USER" --pwfile="$pwfile" -A scram-sha-256 \
        --auth-local=peer -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    # the local superuser is POSTGRES_USER: peer login over the socket maps postgres to it
    echo "local all all trust" > "$data/pg_hba.conf"
    echo "host all all all scram-sha-256" >> "$data/pg_hba.conf"
    cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '*'
port = ${PGPORT:-5432}
jit = off
CONF
    as_pg pg_ctl -D "$data" -o "-c listen_addresses=''" -w start >/dev/null
    if [ "$POSTGRES_DB" != postgres ]; then
        as_pg createdb -U "$POSTGRES_USER" "$POSTGRES_DB"
    fi
    as_pg pg_ctl -D "$data" -m fast -w stop >/dev/null
fi
# setpriv execs (runuser would stay as PID 1 and not pass compose's SIGINT on)
exec setpriv --reuid=postgres --regid=postgres --init-groups \
    postgres -D "$data" -p "${PGPORT:-5432}"
