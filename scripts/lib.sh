# Sourced first by the scripts of scripts/ that are run (setup.sh, build-images.sh,
# deploy-check.sh): strict mode, the checkout as working directory ($here), say() tagged
# with the script's name, usage(), and which Debian packages of a list are not installed.
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "[--option] ..."   (the usage's options)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
_script=$(basename "$0")
_usage="scripts/$_script ${1:-}"
say() { printf '[%s] %s\n' "${_script%.sh}" "$*" >&2; }
usage() { say "usage: $_usage"; exit 2; }

# The packages named in the lists (one a line, '#' comments) that dpkg has not installed.
missing_packages() {
    local pkg
    while read -r pkg; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
            || echo "$pkg"
    done < <(grep -hvE '^\s*(#|$)' "$@")
}
