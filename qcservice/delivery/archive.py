"""A tar archive streamed as it is read: a 512-byte header per file, the file's bytes,
padding to 512, a ``SHA256SUMS`` member, and the two zero blocks that end it.

Nothing is held in memory beyond one chunk, and the exact length is known in advance
(``archive_size``), so the browser shows a real progress bar. Every file's size on disk
is checked against the catalogue before the first byte is sent (``check_files``): a
stream cannot take back a header it has sent.
"""

from __future__ import annotations

import os
import tarfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from qcservice.delivery.items import SUMS_FILE
from qcservice.errors import MusedcError

BLOCK = 512
CHUNK = 1 << 20


class ArchiveError(MusedcError, RuntimeError):
    """A file of the selection cannot go into the archive."""


@dataclass(frozen=True)
class Member:
    """One file of the archive: its name inside, its path on disk, size and checksum."""

    name: str
    path: str
    size: int
    checksum: str | None


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def sums_text(members: Sequence[Member]) -> bytes:
    """``sha256sum -c`` input for the members with a checksum."""
    return "".join(f"{m.checksum.removeprefix('sha256:')}  {m.name}\n"
                   for m in members if m.checksum).encode()


def _header(name: str, size: int, mtime: float) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o644
    return info.tobuf(format=tarfile.PAX_FORMAT)


def archive_size(members: Sequence[Member], mtime: float = 0) -> int:
    """The exact length of the stream :func:`stream_tar` writes for ``members``."""
    sums = sums_text(members)
    total = sum(len(_header(m.name, m.size, mtime)) + _padded(m.size) for m in members)
    return total + len(_header(SUMS_FILE, len(sums), mtime)) + _padded(len(sums)) + 2 * BLOCK


def check_files(members: Sequence[Member]) -> None:
    """Raise ArchiveError naming every file missing or changed (size) since cataloguing."""
    bad = []
    for m in members:
        try:
            size = os.stat(m.path).st_size
        except OSError:
            bad.append(f"{m.name}: no longer on disk")
            continue
        if size != m.size:
            bad.append(f"{m.name}: {size} bytes on disk, {m.size} catalogued")
    if bad:
        raise ArchiveError("; ".join(bad))


def _body(path: str, size: int) -> Iterator[bytes]:
    left = size
    with open(path, "rb") as fh:
        while left > 0:
            chunk = fh.read(min(CHUNK, left))
            if not chunk:
                raise ArchiveError(f"{path} became shorter while it was being sent")
            left -= len(chunk)
            yield chunk
    if size % BLOCK:
        yield b"\0" * (BLOCK - size % BLOCK)


def stream_tar(members: Sequence[Member], mtime: float | None = None) -> Iterator[bytes]:
    """The tar archive of ``members`` (names as given) plus SHA256SUMS, chunk by chunk."""
    when = time.time() if mtime is None else mtime
    for m in members:
        yield _header(m.name, m.size, when)
        yield from _body(m.path, m.size)
    sums = sums_text(members)
    yield _header(SUMS_FILE, len(sums), when)
    yield sums + b"\0" * (_padded(len(sums)) - len(sums))
    yield b"\0" * (2 * BLOCK)
