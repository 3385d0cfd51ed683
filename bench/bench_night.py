"""Benchmark: one night end to end (simulate, ingest, QC) with 1 and with 2 workers.

    .venv/bin/python bench/bench_night.py [--scale small] [--quick] [--json PATH]

For each worker count, in an embedded PostgreSQL of its own (started and migrated
before the clock runs): the simulator writes the night (``simulate_night(workers=N)``),
then the user's commands run as a user runs them: ``musedc ingest DIR -j N`` (with the
SHA-256, the default) and ``musedc qc run -j N``. Figures: each stage and the whole night
with 2 workers against 1 worker (ratio < 1: the second worker helps), and the whole
night with 1 worker against reading every byte of its files once (page cache warm).
--quick: a tiny night.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchlib import Report, free_port, scale_arguments

from qcservice.config import load_settings
from qcservice.db import make_engine
from qcservice.db.cluster import EmbeddedCluster
from qcservice.simulate import simulate_night

NIGHT = "2024-03-09"
MUSEDC = [sys.executable, "-m", "qcservice"]


def _command(args: list[str], env: dict[str, str]) -> float:
    """Seconds taken by one ``musedc`` command (which must succeed)."""
    t0 = time.perf_counter()
    proc = subprocess.run([*MUSEDC, *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1):        # 1: the night's deliberately broken frame
        raise RuntimeError(f"musedc {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    print(f"    musedc {args[0]} {args[1]}: {proc.stdout.strip().splitlines()[-1]}")
    return seconds


def read_all(folder: Path) -> float:
    """Seconds to read every byte of the FITS files under ``folder`` once."""
    t0 = time.perf_counter()
    for path in folder.rglob("*.fits"):
        with path.open("rb") as fh:
            while fh.read(16 << 20):
                pass
    return time.perf_counter() - t0


def one_night(work: Path, scale: str, workers: int) -> dict[str, float]:
    """Seconds of each stage for ``workers`` workers, in a fresh home and database."""
    home = work / f"home-{workers}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEDC_")}
    env.update(MUSEDC_HOME=str(home), MUSEDC_PG_PORT=str(free_port()))
    settings = load_settings(env)
    make_engine(settings).dispose()           # initdb, start, migrate: not timed
    try:
        print(f"  {workers} worker(s):")
        t0 = time.perf_counter()
        truth = simulate_night(work / f"data-{workers}", NIGHT, scale=scale, seed=1,
                               workers=workers)
        times = {"simulate": time.perf_counter() - t0}
        print(f"    simulated {len(truth.files)} files in {times['simulate']:.1f} s")
        times["ingest"] = _command(["ingest", str(truth.directory), "-j", str(workers),
                                    "--no-progress"], env)
        times["qc"] = _command(["qc", "run", "-j", str(workers), "--no-progress"], env)
        times["night"] = sum(times.values())
        times["read"] = min(read_all(truth.directory) for _ in range(2))
    finally:
        EmbeddedCluster(settings).stop()
    return times


def main() -> int:
    args, scale = scale_arguments(__doc__.split("\n\n")[0])
    report = Report("night")
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"musedc-bench-night-{os.getpid()}"
    work.mkdir(mode=0o755)
    try:
        one, two = one_night(work, scale, 1), one_night(work, scale, 2)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for stage in ("simulate", "ingest", "qc", "night"):
        label = "whole night" if stage == "night" else stage
        report.add(f"{scale} night, {label}, 2 workers", two[stage], "s", one[stage],
                   "1 worker")
    report.add(f"{scale} night end to end, 1 worker", one["night"], "s", one["read"],
               "reading its files once")
    return report.finish(args.json)


if __name__ == "__main__":
    sys.exit(main())
