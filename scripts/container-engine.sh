# Sourced by scripts/build-images.sh and scripts/deploy-check.sh (after scripts/lib.sh):
# pick the container engine and its compose, installing what is missing from
# scripts/debian-packages-deploy.txt.
# Sets ENGINE (podman|docker), ENGINE_CMD and COMPOSE_CMD (arrays), and engine() runs it.
# podman is preferred (it needs no daemon); docker is used only when its daemon answers.

_engine_say() { printf '[engine] %s\n' "$*" >&2; }

_engine_install_missing() {
    local missing
    mapfile -t missing < <(missing_packages "$1")
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        _engine_say "missing Debian packages: ${missing[*]} (install them as root)"
        return 1
    fi
    _engine_say "installing Debian packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

if command -v docker >/dev/null 2>&1 && ! command -v podman >/dev/null 2>&1 &&
        timeout 20 docker info >/dev/null 2>&1; then
    ENGINE=docker
    ENGINE_CMD=(docker)
    COMPOSE_CMD=(docker compose)
else
    _engine_install_missing "$(dirname "${BASH_SOURCE[0]}")/debian-packages-deploy.txt"
    ENGINE=podman
    # runc, never crun: see docker/containers.conf (podman-compose calls podman, which
    # reads the same file)
    CONTAINERS_CONF=$(cd "$(dirname "${BASH_SOURCE[0]}")/../docker" && pwd)/containers.conf
    export CONTAINERS_CONF
    ENGINE_CMD=(podman)
    COMPOSE_CMD=(podman-compose)
    # a failed crun start once left /dev/null a plain file, breaking everything after
    if [ ! -c /dev/null ]; then
        _engine_say "/dev/null is not a character device: fix with" \
            "'rm /dev/null; mknod -m 666 /dev/null c 1 3'"
        return 1 2>/dev/null || exit 1
    fi
fi
engine() { "${ENGINE_CMD[@]}" "$@"; }
