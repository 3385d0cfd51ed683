"""Worker processes that die with the process that started them, and process groups
that end when asked.

A pool worker (QC, ingest) whose parent is SIGKILLed would otherwise run on, holding
hundreds of MB and committing nothing anyone waits for, and keep multiprocessing's
resource tracker alive through the pipe it inherited. Linux ends such a worker when its
parent dies (``PR_SET_PDEATHSIG``); the parent check closes the race of a parent that
died before the worker got that far.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Pool initializer: SIGKILL this process when ``parent_pid`` (its creator) dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:
        os._exit(1)


def end_group(proc: subprocess.Popen, grace: float = 30.0) -> bool:
    """SIGTERM to the process group of ``proc`` (started with ``start_new_session``),
    SIGKILL after ``grace`` seconds; True when it had to be killed (a service may wait
    for a request cut off by its stop)."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return True
    return False
