"""Run one recipe with ESO's ``esorex``: SOF, working folder, time, peak memory, log.

A run works in ``<workdir>.part`` and renames it to ``<workdir>`` only when the recipe
succeeded and wrote every expected product: a run killed half-way leaves no folder
that looks finished, and the next run starts that recipe afresh. The pipeline's own
``[ ERROR ]`` lines are the failure message. Peak memory is the child's maximum
resident set (``VmHWM``, polled), so it is the recipe's own, whichever worker ran it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from qcservice.errors import MusedcError
from qcservice.reduce.associate import RunSpec, product_name

_LOG_TAIL = 20000


class EsorexMissing(MusedcError, RuntimeError):
    """esorex is not installed."""


@dataclass
class RunResult:
    """What a recipe run did; pure data, sent back from a worker."""

    run_key: str
    status: str                 # 'ok' or 'failed'
    message: str = ""
    log: str = ""
    duration_s: float = 0.0
    peak_mem_mb: float = 0.0
    outputs: list[dict] = field(default_factory=list)   # path, pro_catg, data_sha256
    inputs: list[dict] = field(default_factory=list)    # path, tag, sha256


def esorex_path() -> str:
    found = shutil.which("esorex")
    if not found:
        raise EsorexMissing("esorex is not installed (Debian: esorex cpl-plugin-muse)")
    return found


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def data_sha256(path: str | Path) -> str:
    """Checksum of every HDU's data bytes, not of the headers (which hold dates)."""
    from astropy.io import fits

    digest = hashlib.sha256()
    with fits.open(path) as hdul, open(path, "rb") as raw:
        for hdu in hdul:
            info = hdu.fileinfo()
            raw.seek(info["datLoc"])
            digest.update(raw.read(info["datSpan"]))
    return digest.hexdigest()


def _errors(log: str) -> str:
    lines = [re.sub(r"^\S+ \[ ERROR \] ", "", line) for line in log.splitlines()
             if "[ ERROR ]" in line]
    return "\n".join(lines[-12:])


def _die_with_parent() -> None:
    """In the child: SIGKILL when the worker that started it dies (Linux prctl), so a
    killed reduction leaves no recipe running on behind its back."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG


def _high_water_mb(pid: int) -> float | None:
    """The recipe's own peak resident memory so far (VmHWM restarts at exec, unlike
    ru_maxrss, which also counts the worker the child was forked from)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return None


def _wait(proc: subprocess.Popen, timeout: float) -> tuple[int, float, bool]:
    """(return code, peak resident memory in MB, killed for the timeout) of ``proc``."""
    deadline = time.monotonic() + timeout
    killed = False
    peak = None
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, peak or usage.ru_maxrss / 1024.0, killed
        peak = max(filter(None, (peak, _high_water_mb(proc.pid))), default=None)
        if not killed and time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
        time.sleep(0.05)


def run_recipe(spec: RunSpec) -> RunResult:
    """Run ``spec``; never raises for a recipe failure (it is the result)."""
    final, part = Path(spec.workdir), Path(spec.workdir + ".part")
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    inputs = [{"path": p, "tag": t, "sha256": file_sha256(p)} for p, t in spec.inputs]
    (part / "input.sof").write_text("".join(f"{p} {t}\n" for p, t in spec.inputs))
    args = [esorex_path(), f"--output-dir={part}", f"--log-dir={part}",
            "--log-file=esorex.log", "--log-level=info", "--msg-level=error",
            spec.recipe, *([f"--nifu={spec.ifu}"] if spec.ifu else []), *spec.params,
            str(part / "input.sof")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}   # one core per task: the pool decides
    start = time.monotonic()
    with open(part / "stderr.txt", "wb") as err:
        proc = subprocess.Popen(args, cwd=part, stdout=err, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True,
                                preexec_fn=_die_with_parent)
        code, peak, killed = _wait(proc, spec.timeout_s)
    duration = time.monotonic() - start
    log_file = part / "esorex.log"
    log = log_file.read_text(errors="replace") if log_file.exists() else ""
    result = RunResult(spec.run_key, "failed", log=log[-_LOG_TAIL:],
                       duration_s=round(duration, 3), peak_mem_mb=round(peak, 1),
                       inputs=inputs)
    missing = [c for c in spec.products if not (part / product_name(c, spec.ifu)).is_file()]
    if code != 0 or missing:
        stderr = (part / "stderr.txt").read_text(errors="replace")
        why = _errors(log) or _errors(stderr) or stderr.strip()[-2000:]
        if killed:
            last = [line for line in log.splitlines() if line.strip()][-3:]
            why = "last lines of its log: " + " | ".join(last)
        result.message = (f"{spec.recipe} killed after {spec.timeout_s:.0f} s" if killed
                          else f"{spec.recipe} exit status {code}" if code else
                          f"{spec.recipe} wrote no {', '.join(missing)}") + \
            (f": {why}" if why else "")
        return result
    shutil.rmtree(final, ignore_errors=True)
    part.rename(final)
    result.status = "ok"
    result.outputs = [{"path": str(final / product_name(c, spec.ifu)), "pro_catg": c,
                       "data_sha256": data_sha256(final / product_name(c, spec.ifu))}
                      for c in spec.products]
    return result
