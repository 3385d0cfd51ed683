"""What a delivered selection is made of and where each file lands: shared by the download
client (``musedc download``) and the viewer's scripts and archives, so all three lay a
selection out the same way."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

SUMS_FILE = "SHA256SUMS"    # the checksums of a selection, for ``sha256sum -c``


@dataclass(frozen=True)
class Item:
    """One file to fetch: its publisher DID, #this URL, name and what to expect."""

    did: str
    url: str
    filename: str
    size: int | None
    checksum: str | None     # 'sha256:<hex>' taken at ingest, None when none was


def relative_paths(items: list[Item]) -> list[str]:
    """Where each item goes under DEST: its name, or ``<id>/<name>`` when names clash."""
    clash = {k for k, v in Counter(i.filename for i in items).items() if v > 1}
    out = []
    for item in items:
        if item.filename in clash:
            parent = unquote(urlsplit(item.url).path.rstrip("/").rsplit("/", 2)[-2])
            if parent in ("", ".", "..") or "\\" in parent or "/" in parent:
                parent = hashlib.sha256(item.did.encode()).hexdigest()[:12]  # never outside
            out.append(f"{parent}/{item.filename}")
        else:
            out.append(item.filename)
    return out
