"""SHA-256 of files, read in chunks: what ingest records and downloads are verified against."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 8 << 20


def sha256_file(path: str | Path, limit: int | None = None) -> hashlib._Hash:
    """The running SHA-256 of the first ``limit`` bytes (all when None) of ``path``."""
    digest = hashlib.sha256()
    left = limit
    with open(path, "rb") as fh:
        while left is None or left > 0:
            chunk = fh.read(CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                break
            digest.update(chunk)
            if left is not None:
                left -= len(chunk)
    return digest


def sha256_of(path: str | Path) -> str:
    """The catalogue's checksum of a file: ``sha256:`` and the hex digest."""
    return "sha256:" + sha256_file(path).hexdigest()
