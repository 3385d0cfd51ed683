"""What the benchmarks share: best-of timing, a free loopback port, a scratch instance."""

from __future__ import annotations

import os
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from qcservice.config import Settings, load_settings


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """The fastest of ``repeat`` runs of ``fn``, in seconds (the least disturbed one)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scratch_instance() -> tuple[Path, Settings]:
    """A temporary folder (traversable by the PostgreSQL service user) and settings for an
    embedded database of its own under it, on a free port; MUSEDC_* of the caller ignored."""
    work = Path(tempfile.mkdtemp(prefix="musedc-bench-", dir="/tmp"))
    work.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEDC_")}
    return work, load_settings(env, home=str(work / "home"), pg_port=free_port())
