#!/usr/bin/env bash
# Build every image of docker/ with no image registry: a Debian base image made here from
# Debian packages (debootstrap --variant=minbase + import), then on it the database
# (Debian's PostgreSQL 15 + pgSphere + q3c), the proxy (Debian's caddy) and the data
# centre's own image (scripts/setup.sh --runtime).
#
#   scripts/build-images.sh [--rebuild-base]
#
# Engine: podman when installed (with the runc runtime: docker/containers.conf), else
# docker if its daemon answers. Missing tools come from scripts/debian-packages-deploy.txt.
# Settings: MUSEDC_BASE_IMAGE (default musedc-base:bookworm; an existing image is reused
# unless --rebuild-base), MUSEDC_DEBIAN_MIRROR (default: the first of /etc/apt's sources),
# MUSEDC_BUILD_DIR (scratch space for the base's root file system, default /var/tmp).
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "[--rebuild-base]"

rebuild_base=no
case "${1:-}" in
    "") ;;
    --rebuild-base) rebuild_base=yes ;;
    *) usage ;;
esac
# shellcheck source=scripts/container-engine.sh
source scripts/container-engine.sh
base=${MUSEDC_BASE_IMAGE:-musedc-base:bookworm}
start=$SECONDS

# --- the base image from Debian packages ---------------------------------------------
mirror() {
    [ -n "${MUSEDC_DEBIAN_MIRROR:-}" ] && { echo "$MUSEDC_DEBIAN_MIRROR"; return; }
    local uri
    uri=$(grep -hsoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list \
          /etc/apt/sources.list.d/debian.sources | grep -v security | head -n1 | awk '{print $2}')
    echo "${uri:-http://deb.debian.org/debian}"
}
if [ "$rebuild_base" = yes ] || ! engine image inspect "$base" >/dev/null 2>&1; then
    root=$(mktemp -d "${MUSEDC_BUILD_DIR:-/var/tmp}/musedc-base.XXXXXX")
    trap 'rm -rf "$root"' EXIT
    say "debootstrap --variant=minbase bookworm from $(mirror) (a few minutes)"
    nice -n 10 debootstrap --variant=minbase bookworm "$root" "$(mirror)" \
        > "$root.log" 2>&1 || { tail -n 20 "$root.log" >&2; say "debootstrap failed"; exit 1; }
    rm -f "$root.log"
    # no downloaded packages or lists in the image; apt-get update fetches the lists
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | engine import --change 'CMD ["/bin/bash"]' \
        --change 'ENV LANG=C.UTF-8' - "$base" >/dev/null
    rm -rf "$root"
    trap - EXIT
    say "base image $base made in $((SECONDS - start)) s"
else
    say "base image $base exists (--rebuild-base makes it again)"
fi

# --- the images of docker/ -------------------------------------------------------------
# pip inside the build needs the host's CA bundle where PyPI is reached through an
# intercepting proxy: mounted at its own path for the build only (podman), never copied.
bundle=/etc/ssl/certs/ca-certificates.crt
pip_args=()
if [ "$ENGINE" = podman ] && [ -r "$bundle" ]; then
    pip_args=(--volume "$bundle:/run/host-ca.crt:ro" --build-arg PIP_CERT=/run/host-ca.crt)
fi
build() {  # NAME DOCKERFILE CONTEXT [ARGS...]
    local name=$1 file=$2 context=$3 t=$SECONDS
    shift 3
    say "building $name ($file)"
    nice -n 10 "${ENGINE_CMD[@]}" build --build-arg "BASE=$base" -t "$name" -f "$file" \
        "$@" "$context" > "${MUSEDC_BUILD_LOG:-/dev/stderr}"
    say "$name built in $((SECONDS - t)) s"
}
build musedc-postgres:15 docker/postgres.Dockerfile docker
build musedc-caddy:2 docker/caddy.Dockerfile docker
ignore=()
[ "$ENGINE" = podman ] && ignore=(--ignorefile docker/Dockerfile.dockerignore)
build musedc:latest docker/Dockerfile . "${ignore[@]}" "${pip_args[@]}"
say "all images built in $((SECONDS - start)) s with $ENGINE"
