"""Helpers the tests share (not fixtures): free ports, folders the DB server can reach."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_tempdir(prefix: str) -> Path:
    """A temporary folder the PostgreSQL service user may traverse (when we are root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path
