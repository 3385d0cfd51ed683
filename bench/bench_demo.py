"""Benchmark: the README's demo, from its command to the first answered TAP query.

    .venv/bin/python bench/bench_demo.py [--scale small] [--quick] [--json PATH]

Runs ``./run demo --scale SCALE --vo-port P --viewer-port 0 --serve-for 0`` in a fresh
MUSEDC_HOME (its own PostgreSQL and DaCHS) and times, from the start of the command, the
moment it prints that its example TAP query was answered (HTTP 200), with the time of
each of its steps. ``scripts/setup.sh`` runs once before, untimed, so that the timed
command finds the machine set up, as a user's second command would. Figures: the first
run against simulating the same night alone (``musedc simulate``, the data it must
write anyway), and a rerun of the same command (everything reused) against the first.
--quick: a tiny night.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import Report, free_port, scale_arguments

ROOT = Path(__file__).resolve().parents[1]
ANSWERED = re.compile(r"answered: HTTP (\d+)")


def timed_demo(env: dict[str, str], scale: str) -> tuple[float, dict[str, float]]:
    """Seconds from ``./run demo`` to its first answered TAP query, and when each step
    started; the command is then left to finish (it stops what it started)."""
    cmd = [str(ROOT / "run"), "demo", "--scale", scale, "--nights", "1",   # the night it
           "--start-night", "2024-03-09", "--vo-port", str(free_port()),    # simulates alone
           "--viewer-port", "0", "--serve-for", "0"]
    steps: dict[str, float] = {}
    lines: list[str] = []
    answered = None
    t0 = time.perf_counter()
    with subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            now = time.perf_counter() - t0
            lines.append(line)
            step = re.match(r"\[(\d)/\d\] (.*)", line)
            if step:
                steps[f"{step.group(1)} {step.group(2)[:40]}"] = now
            found = ANSWERED.search(line)
            if found and answered is None:
                if found.group(1) != "200":
                    raise RuntimeError(f"the demo's TAP query answered {line.strip()}")
                answered = now
        proc.wait()
    if proc.returncode != 0 or answered is None:
        raise RuntimeError(f"./run demo failed ({proc.returncode}) or never queried TAP:\n"
                           + "".join(lines[-30:]))
    return answered, steps


def main() -> int:
    args, scale = scale_arguments(__doc__.split("\n\n")[0])
    report = Report("demo")
    subprocess.run([str(ROOT / "scripts" / "setup.sh")], check=True, capture_output=True)
    home = Path(tempfile.mkdtemp(prefix="musedc-bench-demo-", dir="/tmp"))
    home.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEDC_")}
    env.update(MUSEDC_HOME=str(home / "home"), MUSEDC_PG_PORT=str(free_port()),
               PYTHONUNBUFFERED="1")
    musedc = [str(ROOT / ".venv" / "bin" / "musedc")]
    try:
        first, steps = timed_demo(env, scale)
        try:
            rerun = timed_demo(env, scale)[0]
        except RuntimeError as exc:
            print(f"the rerun failed: {str(exc)[-1500:]}")
            rerun = None
        t0 = time.perf_counter()
        subprocess.run([*musedc, "simulate", str(home / "sim"), "--scale", scale,
                        "--start-night", "2024-03-09", "--seed", "1"], env=env, check=True,
                       capture_output=True)
        simulate = time.perf_counter() - t0
    finally:
        subprocess.run([*musedc, "vo", "stop"], env=env, capture_output=True)
        subprocess.run([*musedc, "db", "stop"], env=env, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
    marks = [*sorted(steps.items(), key=lambda kv: kv[1]), ("TAP answered", first)]
    for (name, start), (_, end) in itertools.pairwise(marks):
        print(f"  step {name:<44} {end - start:7.1f} s")
    report.add(f"./run demo ({scale}) to the first answered TAP query", first, "s",
               simulate, "musedc simulate alone")
    if report.check("./run demo runs again (the README: safe to rerun)", rerun is not None):
        report.add(f"./run demo ({scale}) again, everything reused", rerun, "s", first,
                   "the first run")
    return report.finish(args.json)


if __name__ == "__main__":
    sys.exit(main())
