"""The download script the QA viewer hands out for a selection: bash + curl, resumable,
verified, and holding no password.

Credentials: a netrc entry for the viewer's host is used when there is one (``$NETRC`` or
``~/.netrc``); otherwise the script asks for the password once and gives it to curl as a
config file on standard input, so it never appears in the script, on a command line or
in the environment of other processes.
"""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit


@dataclass(frozen=True)
class ScriptFile:
    """One file of the selection: where it goes, where it is, what it must hash to."""

    rel: str
    url: str
    size: int
    checksum: str | None    # 'sha256:<hex>' or None


_HEAD = r"""#!/usr/bin/env bash
# MUSE GTO data centre: {n} files, {size}, selected by {user} in the QA viewer on {date}.
#   bash {script} [DEST]     (DEST defaults to ./musedc-download)
# Rerun it to resume: complete files are skipped, partial ones continued (curl -C -).
# Every file is checked against the SHA-256 taken when it was catalogued.
# Credentials: a netrc entry "machine {host} login {user} password ..." in $NETRC or
# ~/.netrc is used when there is one; otherwise the password is asked for once (or read
# from standard input when that is not a terminal) and handed to curl on its standard
# input, never on a command line. This script holds no password.
set -uo pipefail
host={host_q}
login={user_q}
dest="${{1:-musedc-download}}"
mkdir -p "$dest" && cd "$dest" || exit 1
netrc_file="${{NETRC:-$HOME/.netrc}}"
if grep -Eqs "machine[[:space:]]+$host([[:space:]]|$)" "$netrc_file"; then
    curl_auth() {{ curl --netrc-file "$netrc_file" "$@"; }}
else
    if [ -t 0 ]; then read -rsp "Password of $login on $host: " password; echo >&2
    else read -r password; fi  # e.g. from a password manager: pass show x | bash this
    escaped=${{password//\\/\\\\}}; escaped=${{escaped//\"/\\\"}}
    curl_auth() {{ printf 'user = "%s:%s"\n' "$login" "$escaped" | curl --config - "$@"; }}
fi
failed=0
verify() {{ [ "$2" = "-" ] || echo "$2  $1" | sha256sum --check --status; }}
fetch() {{
    local name=$1 url=$2 sum=$3
    if [ -f "$name" ] && verify "$name" "$sum"; then echo "complete $name"; return; fi
    rm -f -- "$name"
    mkdir -p -- "$(dirname -- "$name")"
    if ! {{ [ -f "$name.part" ] && [ "$sum" != "-" ] && verify "$name.part" "$sum"; }}; then
        if ! curl_auth --fail --silent --show-error --continue-at - --output "$name.part" "$url"
        then echo "FAILED $name: download failed (rerun to resume)" >&2; failed=$((failed + 1))
            return; fi
    fi
    if verify "$name.part" "$sum"; then mv -f -- "$name.part" "$name"; echo "ok $name"
    else rm -f -- "$name.part"; failed=$((failed + 1))
        echo "FAILED $name: checksum mismatch (the copy was deleted; rerun)" >&2; fi
}}
"""

_TAIL = r"""
if [ "$failed" -gt 0 ]; then echo "$failed of {n} files FAILED: rerun to retry" >&2; exit 1; fi
echo "all {n} files complete and verified"
"""


def file_url(base_url: str, file_id: int, filename: str, prefix: str = "files") -> str:
    """The viewer's address of a file: ``BASE/files/<id>/<name>``."""
    return f"{base_url.rstrip('/')}/{prefix}/{file_id}/{quote(filename)}"


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def make_script(files: Sequence[ScriptFile], base_url: str, user: str,
                name: str = "musedc-download.sh", when: dt.date | None = None) -> str:
    """The bash script that fetches ``files`` from the viewer at ``base_url`` as ``user``."""
    host = urlsplit(base_url).hostname or "localhost"
    head = _HEAD.format(n=len(files), size=_size(sum(f.size for f in files)), user=user,
                        date=(when or dt.date.today()).isoformat(), script=name, host=host,
                        host_q=shlex.quote(host), user_q=shlex.quote(user))
    body = "".join(
        f"fetch {shlex.quote(f.rel)} {shlex.quote(f.url)} "
        f"{f.checksum.removeprefix('sha256:') if f.checksum else '-'}\n" for f in files)
    return head + body + _TAIL.format(n=len(files))
