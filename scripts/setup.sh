#!/usr/bin/env bash
# One-shot, idempotent set-up of a fresh Debian machine for the MUSE data centre:
# Debian packages (scripts/debian-packages.txt, and debian-packages-test.txt), the
# unprivileged system user that runs PostgreSQL when we are root, and the project's
# virtual environment (.venv) with its test dependencies.
#   scripts/setup.sh             what ./run demo and ./run test need (everything)
#   scripts/setup.sh --runtime   without what only the tests need (the production image)
# Reruns are cheap: nothing is installed twice.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "[--runtime]"

mode=full
case "${1:-}" in
    "") ;;
    --runtime) mode=runtime ;;
    *) usage ;;
esac
lists=(scripts/debian-packages.txt)
extras='.[test]'
if [ "$mode" = runtime ]; then extras='.'; else lists+=(scripts/debian-packages-test.txt); fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); fi
fi

# --- Debian packages ---------------------------------------------------------------
mapfile -t missing < <(missing_packages "${lists[@]}")
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ] && [ ${#sudo_cmd[@]} -eq 0 ]; then
        say "missing Debian packages: ${missing[*]}"
        say "install them as root (apt-get install ${missing[*]}) and run this again"
        exit 1
    fi
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- the system user that runs PostgreSQL (and DaCHS) when we are root ---------------
service_user=${MUSEDC_SERVICE_USER:-musedc}
if [ "$(id -u)" -eq 0 ] && ! id "$service_user" >/dev/null 2>&1; then
    say "creating system user $service_user"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$service_user"
fi

# --- the virtual environment --------------------------------------------------------
# Debian's interpreter by default: the services run as unprivileged users, who must be able
# to execute the venv's python (an interpreter under /root would be closed to them).
if [ -z "${PYTHON:-}" ] && [ -x /usr/bin/python3 ]; then python=/usr/bin/python3; else
    python=${PYTHON:-python3}; fi
"$python" - <<'PY' || { say "Python >= 3.11 is required ($python)"; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
stamp=.venv/.musedc-installed
base=$("$python" -c 'import sys; print(sys.base_prefix)')
if [ -x .venv/bin/python ] && [ "$(.venv/bin/python -c 'import sys; print(sys.base_prefix)' \
        2>/dev/null)" != "$base" ]; then
    say "recreating .venv on $python"
    rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
    say "creating .venv with $("$python" --version)"
    "$python" -m venv .venv
fi
# the stamp holds what was installed: a full set-up after a runtime one adds the tests'
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] ||
        { [ "$mode" = full ] && [ "$(cat "$stamp")" != full ]; }; then
    say "installing the project ($mode) into .venv (log: .venv/pip.log)"
    if ! { .venv/bin/python -m pip install -q --upgrade pip &&
           .venv/bin/python -m pip install -q -e "$extras"; } >.venv/pip.log 2>&1; then
        grep -v '^WARNING: Location' .venv/pip.log | tail -n 40 >&2
        say "pip failed; the whole log is .venv/pip.log"
        exit 1
    fi
    echo "$mode" > "$stamp"
fi
say "ready"
