"""Fetch one file resumably and verify it: ``NAME.part`` grows (HTTP Range on a rerun),
its SHA-256 is compared with the checksum taken at ingest, and only then is it renamed
to ``NAME``. A state file remembers what was verified, so that a rerun skips complete
files without reading them again.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

from qcservice.delivery.items import Item
from qcservice.fits.checksum import sha256_file, sha256_of

STATE_FILE = ".musedc-download.json"
CHUNK = 1 << 20

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Outcome:
    """What happened to one file: downloaded, complete (already there) or failed."""

    item: Item
    rel: str
    status: str
    message: str = ""
    received: int = 0
    verified: bool = False


class State:
    """``DEST/.musedc-download.json``: rel path -> size, mtime and verified checksum."""

    def __init__(self, dest: Path) -> None:
        self.path = dest / STATE_FILE
        self.lock = threading.Lock()
        try:
            self.entries: dict[str, dict] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.entries = {}

    def is_complete(self, rel: str, target: Path, item: Item) -> bool:
        """True when ``target`` is what was verified last time (same size, mtime, sum)."""
        entry = self.entries.get(rel)
        try:
            st = target.stat()
        except OSError:
            return False
        return bool(entry) and entry.get("checksum") == item.checksum and (
            entry.get("size"), entry.get("mtime_ns")) == (st.st_size, st.st_mtime_ns)

    def record(self, rel: str, target: Path, checksum: str | None) -> None:
        st = target.stat()
        with self.lock:
            self.entries[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                 "checksum": checksum}
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.entries, indent=0, sort_keys=True))
            tmp.replace(self.path)


def _refusal(resp: requests.Response, url: str) -> str:
    host = urlsplit(url).hostname
    if resp.status_code == 401:
        return (f"refused: proprietary, credentials needed (HTTP 401); give --user NAME "
                f"or a netrc entry for {host}")
    if resp.status_code == 403:
        return "refused: this account may not see it before its release (HTTP 403)"
    return f"HTTP {resp.status_code} from {url}"


def _existing(target: Path, rel: str, item: Item, state: State) -> Outcome | None:
    """An Outcome when ``target`` is already complete; else remove a bad copy."""
    if not target.exists():
        return None
    if state.is_complete(rel, target, item):
        return Outcome(item, rel, "complete", verified=item.checksum is not None)
    if item.checksum is not None:
        if sha256_of(target) == item.checksum:
            state.record(rel, target, item.checksum)
            return Outcome(item, rel, "complete", verified=True)
    elif item.size is not None and target.stat().st_size == item.size:
        state.record(rel, target, None)
        return Outcome(item, rel, "complete", "no checksum stored: size only")
    target.unlink()  # a copy that does not match: fetched again below
    return None


def fetch(session: requests.Session, item: Item, rel: str, dest: Path, state: State,
          progress: Progress, timeout: float = 120) -> Outcome:
    """Fetch ``item`` to ``dest/rel`` unless complete; never raises for HTTP or I/O."""
    target = dest / rel
    try:
        done = _existing(target, rel, item, state)
        if done is not None:
            progress(target.stat().st_size)
            return done
        target.parent.mkdir(parents=True, exist_ok=True)
        return _transfer(session, item, rel, target, state, progress, timeout)
    except (requests.RequestException, OSError) as exc:
        return Outcome(item, rel, "failed", f"{type(exc).__name__}: {exc}")


def _transfer(session: requests.Session, item: Item, rel: str, target: Path, state: State,
              progress: Progress, timeout: float) -> Outcome:
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    if have and item.size is not None and have >= item.size:
        progress(have)  # interrupted after the last byte: check the part as it is
        return _finish(item, rel, part, target, state, sha256_file(part), 0)
    headers = {"Range": f"bytes={have}-"} if have else {}
    with session.get(item.url, headers=headers, stream=True, timeout=timeout) as resp:
        resumed = resp.status_code == 206 and resp.headers.get(
            "Content-Range", "").startswith(f"bytes {have}-")
        if have and not resumed and resp.status_code in (206, 416):
            part.unlink()  # the server resumed elsewhere or not at all: start over
            return _transfer(session, item, rel, target, state, progress, timeout)
        if resp.status_code not in (200, 206):
            return Outcome(item, rel, "failed", _refusal(resp, item.url))
        have = have if resumed else 0
        digest = sha256_file(part, have) if have else hashlib.sha256()
        progress(have)
        received = 0
        with open(part, "r+b" if have else "wb") as out:
            out.seek(have)
            out.truncate()
            for chunk in resp.iter_content(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                progress(len(chunk))
    return _finish(item, rel, part, target, state, digest, received)


def _finish(item: Item, rel: str, part: Path, target: Path, state: State, digest,
            received: int) -> Outcome:
    size = part.stat().st_size
    if item.size is not None and size != item.size:
        if size > item.size:
            part.unlink()
        return Outcome(item, rel, "failed", f"incomplete: {size} of {item.size} bytes "
                       f"(rerun to resume)", received)
    got = "sha256:" + digest.hexdigest()
    if item.checksum is not None and got != item.checksum:
        part.unlink()
        return Outcome(item, rel, "failed", f"checksum mismatch: expected {item.checksum}, "
                       f"received {got}; the copy was deleted (rerun to fetch it again)",
                       received)
    os.replace(part, target)
    state.record(rel, target, item.checksum)
    note = "" if item.checksum is not None else "no checksum stored: size only"
    return Outcome(item, rel, "downloaded", note, received, item.checksum is not None)
