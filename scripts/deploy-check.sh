#!/usr/bin/env bash
# Build the images, start the compose stack of docker/ and check it from outside, through
# the proxy only (scripts/deploy_check_client.py): HTTPS with the stack's own CA, viewer
# login, TAP sync and async, an embargoed product refused anonymously and to a stranger
# and delivered to a member (bytes sent by the proxy), the protection tests of tests/stack
# (every VO and viewer path of an embargoed product, the gate's throttle), QC run on the Dask worker, backup
# and restore with pg_dump/pg_restore into a new cluster, a restart of every service with
# no data lost; then take it down (volumes removed).
#
#   scripts/deploy-check.sh [--no-build] [--keep]
#
# --no-build uses the images as they are; --keep leaves the stack running (and says how
# to take it down). The stack is docker/compose.yaml itself, in a project of its own
# (its own network and volumes), with its settings in the project's .env; only the proxy
# is published, on free loopback ports.
# Not part of ./run test: it takes minutes (docs/operations.md says how long).
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "[--no-build] [--keep]"
t0=$SECONDS
say() { printf '[deploy-check %4ds] %s\n' $((SECONDS - t0)) "$*" >&2; }   # with the time
fail() { say "FAILED: $*"; exit 1; }

build=yes keep=no
for arg in "$@"; do
    case "$arg" in
        --no-build) build=no ;;
        --keep) keep=yes ;;
        *) usage ;;
    esac
done
# shellcheck source=scripts/container-engine.sh
source scripts/container-engine.sh
if [ "$build" = yes ]; then scripts/build-images.sh; fi
say "images ready"

work=$(mktemp -d "${MUSEDC_BUILD_DIR:-/var/tmp}/musedc-check.XXXXXX")
project=musedccheck$$
C=("${COMPOSE_CMD[@]}" -p "$project" -f "$work/compose.yaml")
ctr() { echo "${project}_$1_1"; }   # container name of a service (podman-compose)
[ "$ENGINE" = docker ] && ctr() { echo "${project}-$1-1"; }
cleanup() {
    if [ "$keep" = yes ]; then
        say "left running (bench/bench_download.py $work/stack.json); to end it:"
        say "  CONTAINERS_CONF=${CONTAINERS_CONF:-} ${C[*]} down -v;" \
            "${ENGINE_CMD[*]} network rm ${project}_default; rm -rf $work"
        return
    fi
    "${C[@]}" down -v >/dev/null 2>&1 || true
    engine rm -f -v "${project}_restore" >/dev/null 2>&1 || true
    engine volume rm -f "${project}_restore" >/dev/null 2>&1 || true
    engine network rm -f "${project}_default" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# --- settings: free loopback ports for the proxy, host names, an internal CA -------------
read -r http_port https_port < <(python3 - <<'PY'
import socket
socks = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
print(*(s.getsockname()[1] for s in socks))
PY
)
processes=${MUSEDC_DACHS_PROCESSES:-$(nproc)}
password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
user_password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')
viewer_host=musedc.check.test vo_host=vo.musedc.check.test authority=musedc.check.test
cp docker/compose.yaml docker/Caddyfile "$work/"
mkdir -p "$work/data" "$work/certs" "$work/backup"
cat > "$work/.env" <<EOF
MUSEDC_DB_PASSWORD=$password
MUSEDC_HOSTNAME=$viewer_host:$https_port
MUSEDC_VO_HOSTNAME=$vo_host:$https_port
MUSEDC_TLS=internal
MUSEDC_CERTS_DIR=$work/certs
MUSEDC_VO_AUTHORITY=$authority
MUSEDC_DATA_DIR=$work/data
MUSEDC_DASK_WORKERS=1
MUSEDC_DACHS_PROCESSES=$processes
MUSEDC_PUBLISH_ADDRESS=127.0.0.1
MUSEDC_HTTP_PORT=$http_port
MUSEDC_HTTPS_PORT=$https_port
EOF
chmod 600 "$work/.env"

# --- data: a simulated night and the real MUSE cube of the mpdaf wheel --------------------
say "simulating a night into $work/data"
chmod 755 "$work"
# the real cube ships in mpdaf's wheel (its data files are not installed in the image): from PyPI,
# with the host's CA bundle where PyPI is reached through an intercepting proxy
ca_args=()
[ -r /etc/ssl/certs/ca-certificates.crt ] && ca_args=(
    -v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro -e PIP_CERT=/run/host-ca.crt)
engine run --rm --network host -v "$work/data:/out" --user root "${ca_args[@]}" \
    musedc:latest bash -c '
    set -e
    musedc simulate /out --nights 1 --scale tiny --seed 3 --start-night 2024-03-10 >/dev/null
    python -m pip download -q --no-deps --only-binary :all: -d /tmp/wheel mpdaf
    python -c "import glob, zipfile; zipfile.ZipFile(glob.glob(\"/tmp/wheel/*.whl\")[0]).extract(\"mpdaf/data/sdetect/minicube.fits\", \"/tmp/wheel\")"
    cp /tmp/wheel/mpdaf/data/sdetect/minicube.fits /out/
    chmod -R a+rX /out' || fail "making the data (simulated night, mpdaf's minicube)"

# --- start: the database, its schema, then everything ------------------------------------
wait_for() {  # SECONDS DESCRIPTION COMMAND...
    local limit=$1 what=$2
    shift 2
    local end=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || fail "$what: not ready within $limit s"
        sleep 2
    done
}
say "starting the database"
"${C[@]}" up -d db >/dev/null 2>&1
wait_for 120 "database" engine exec "$(ctr db)" pg_isready -U musedc -d musedc
musedc() { engine exec -i "$(ctr viewer)" /opt/musedc/.venv/bin/musedc "$@"; }
psql_db() { engine exec -i "$(ctr db)" psql -v ON_ERROR_STOP=1 -qAt -U musedc -d musedc "$@"; }
say "migrating (compose run --rm cli db migrate)"
"${C[@]}" run --rm --no-deps -T cli db migrate >/dev/null 2>&1
[ "$(psql_db -c "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'qc'")" = 1 ] \
    || fail "db migrate did not create the qc schema"
say "starting every service"
"${C[@]}" up -d >/dev/null 2>&1
curl_ca() { curl -sS --cacert "$work/ca.crt" --resolve "$viewer_host:$https_port:127.0.0.1" \
    --resolve "$vo_host:$https_port:127.0.0.1" "$@"; }
wait_for 120 "proxy's CA" engine exec "$(ctr proxy)" test -s \
    /caddy/data/caddy/pki/authorities/local/root.crt
engine exec "$(ctr proxy)" cat /caddy/data/caddy/pki/authorities/local/root.crt > "$work/ca.crt"
wait_for 240 "viewer through the proxy" curl_ca -f "https://$viewer_host:$https_port/login"
wait_for 300 "DaCHS through the proxy" curl_ca -f "https://$vo_host:$https_port/tap/capabilities"
say "stack up: viewer and TAP answer through the proxy over HTTPS"

# --- catalogue, QC on the Dask worker, users, publish ------------------------------------
musedc ingest --no-checksum /data >/dev/null 2>&1 || true   # the simulator's broken header
[ "$(psql_db -c 'SELECT count(*) FROM qc.files')" -gt 10 ] || fail "ingest catalogued nothing"
say "QC on the Dask worker (musedc qc run --scheduler)"
musedc qc run --scheduler tcp://scheduler:8786 > "$work/qc.log" 2>&1 ||
    { cat "$work/qc.log" >&2; fail "qc run on the Dask cluster"; }
metrics=$(psql_db -c 'SELECT count(*) FROM qc.metrics')
[ "$metrics" -gt 0 ] || fail "QC stored no metrics"
worker_log=$(engine logs "$(ctr worker)" 2>&1)
[[ $worker_log == *"Registered to:"*"tcp://scheduler:8786"* ]] || fail "no Dask worker registered"
say "QC: $metrics metrics"
psql_db <<'SQL'
INSERT INTO qc.qa (file_id, auto_state, state)
    SELECT file_id, 'Pass', 'Pass' FROM qc.products
    WHERE ifu IS NULL AND pro_catg IN ('DATACUBE_FINAL', 'IMAGE_FOV', 'SPECTRUM_1D')
ON CONFLICT (file_id) DO UPDATE SET state = 'Pass';
UPDATE qc.files SET release_date = '2099-01-01', privilege = 1
    WHERE filename IN ('DATACUBE_FINAL_1.fits', 'SPECTRUM_1D_1.fits');
UPDATE qc.files SET release_date = '2020-01-01' WHERE filename = 'minicube.fits';
SQL
owner=$(psql_db -c "SELECT g.name FROM qc.files f JOIN qc.groups g ON g.group_id = \
    f.owner_group_id WHERE f.filename = 'DATACUBE_FINAL_1.fits'")
for u in member stranger guesser; do   # guesser: for the throttle test of tests/stack
    printf '%s\n' "$user_password" | musedc users add "$u" --password-stdin >/dev/null
done
musedc users group add member "$owner" >/dev/null
musedc users group add guesser "$owner" >/dev/null
musedc vo publish > "$work/publish.log" 2>&1 || { cat "$work/publish.log" >&2; fail "vo publish"; }
say "published"

# --- from outside -------------------------------------------------------------------------
product() {  # FILENAME -> JSON of accref, file_id, filename, sha256
    local id
    id=$(psql_db -c "SELECT file_id FROM qc.files WHERE filename = '$1'")
    printf '{"accref": "muse/%s/%s", "file_id": %s, "filename": "%s", "sha256": "%s"}' \
        "$id" "$1" "$id" "$1" "$(sha256sum < "$(find "$work/data" -name "$1" | head -n1)" | cut -d' ' -f1)"
}
cat > "$work/client.json" <<EOF
{"viewer": "https://$viewer_host:$https_port", "vo": "https://$vo_host:$https_port",
 "ca": "/check/ca.crt", "password": "$user_password",
 "resolve": {"$viewer_host": "127.0.0.1", "$vo_host": "127.0.0.1"},
 "embargoed": $(product DATACUBE_FINAL_1.fits), "public": $(product minicube.fits),
 "spectrum": $(product SPECTRUM_1D_1.fits), "authority": "$authority",
 "images": [$(psql_db -c "SELECT string_agg(image_id::text, ',') FROM qc.qc_images i
     JOIN qc.files f USING (file_id) WHERE f.filename = 'DATACUBE_FINAL_1.fits'")]}
EOF
client() {  # on the host's network: it reaches the stack through the published proxy only
    engine run --rm --network host -v "$work:/check:ro" -v "$here/scripts:/scripts:ro" \
        musedc:latest /opt/musedc/.venv/bin/python /scripts/deploy_check_client.py \
        /check/client.json || fail "a check from outside"
}
client
# tests/stack: the VO protection tests of the suite, the viewer's file routes and the
# gate's throttle, through the proxy (pytest added to a throw-away container of the image)
say "protection tests against the stack (tests/stack)"
engine run --rm --network host --user root -v "$work:/check:ro" -v "$here/tests:/tests:ro" \
    "${ca_args[@]}" -e MUSEDC_STACK=/check/client.json -e PYTHONDONTWRITEBYTECODE=1 \
    musedc:latest bash -c 'cd /tmp && /opt/musedc/.venv/bin/python -m pip install -q \
        --disable-pip-version-check "pytest>=8" && /opt/musedc/.venv/bin/python -m pytest \
        -q -p no:cacheprovider -W ignore::pytest.PytestUnknownMarkWarning \
        --rootdir /tests/stack /tests/stack' >&2 ||
    fail "the protection tests against the stack (tests/stack)"
# every DaCHS process answered some of those requests (each logs to logs/ or logs-i/)
served=$(engine exec "$(ctr dachs)" sh -c 'for d in /var/lib/musedc/vo/logs /var/lib/musedc/vo/logs-*
    do grep -c "HTTP/1" "$d/web.log" || true; done' | tr '\n' ' ')
[ "$(wc -w <<< "$served")" = "$processes" ] && ! grep -qw 0 <<< "$served" ||
    fail "requests per DaCHS process: $served"
say "all checks from outside passed; requests answered per DaCHS process: $served"
cat > "$work/stack.json" <<EOF
{"engine": "${ENGINE_CMD[0]}", "containers_conf": "${CONTAINERS_CONF:-}", "work": "$work",
 "data": "$work/data", "ca": "$work/ca.crt", "vo": "https://$vo_host:$https_port",
 "resolve": "$vo_host:$https_port:127.0.0.1", "authority": "$authority",
 "db": "$(ctr db)", "viewer": "$(ctr viewer)", "proxy": "$(ctr proxy)",
 "gate": "$(ctr gate)", "dachs": "$(ctr dachs)"}
EOF

# --- backup and restore into a new cluster -------------------------------------------------
counts() {  # the rows that must survive: catalogue, QC, decisions, users, DaCHS's tables
    "$@" -c "SELECT (SELECT count(*) FROM qc.files), (SELECT count(*) FROM qc.metrics), \
        (SELECT count(*) FROM qc.qa), (SELECT count(*) FROM qc.users), \
        (SELECT count(*) FROM dc.products), (SELECT count(*) FROM ivoa.obscore)"
}
before=$(counts psql_db)
say "backup (pg_dumpall --roles-only, pg_dump --format=custom)"
(umask 077; engine exec "$(ctr db)" pg_dumpall -U musedc --roles-only > "$work/backup/roles.sql")
engine exec "$(ctr db)" pg_dump -U musedc --format=custom musedc > "$work/backup/musedc.dump"
engine run -d --name "${project}_restore" --network none \
    -v "${project}_restore:/var/lib/postgresql/data" -e POSTGRES_USER=musedc \
    -e POSTGRES_PASSWORD="$password" -e POSTGRES_DB=musedc musedc-postgres:15 >/dev/null
wait_for 120 "restore cluster" engine exec "${project}_restore" pg_isready -U musedc
grep -Ev '^(CREATE|ALTER) ROLE musedc[ ;]' "$work/backup/roles.sql" |
    engine exec -i "${project}_restore" psql -q -U musedc -d musedc >/dev/null
engine exec -i "${project}_restore" pg_restore -U musedc -d musedc < "$work/backup/musedc.dump" \
    2> "$work/backup/restore.log" || { cat "$work/backup/restore.log" >&2; fail "pg_restore"; }
restored=$(counts engine exec -i "${project}_restore" psql -qAt -U musedc -d musedc)
[ "$restored" = "$before" ] || fail "restored counts $restored differ from $before"
say "restored into a new cluster: files|metrics|qa|users|products|obscore = $restored"
engine rm -f -v "${project}_restore" >/dev/null
engine volume rm -f "${project}_restore" >/dev/null

# --- restart every service: nothing lost ---------------------------------------------------
say "restarting every service (down, up)"
"${C[@]}" down >/dev/null 2>&1
"${C[@]}" up -d >/dev/null 2>&1
wait_for 120 "database after restart" engine exec "$(ctr db)" pg_isready -U musedc
wait_for 240 "viewer after restart" curl_ca -f "https://$viewer_host:$https_port/login"
wait_for 300 "DaCHS after restart" curl_ca -f "https://$vo_host:$https_port/tap/capabilities"
after=$(counts psql_db)
[ "$after" = "$before" ] || fail "after the restart $after, before $before"
client
say "after the restart: the same rows ($after), every check passed again"
say "deploy-check passed in $((SECONDS - t0)) s"
