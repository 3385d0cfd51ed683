"""Run every benchmark of the project, print one table, write the results as JSON.

    .venv/bin/python bench/run_all.py                   # everything, full size (long)
    .venv/bin/python bench/run_all.py --quick           # reduced sizes: does it all run?
    .venv/bin/python bench/run_all.py --only vo,night   # some of them
    .venv/bin/python bench/run_all.py --compare bench/results/OLD.json
    .venv/bin/python bench/run_all.py --results NEW.json --compare OLD.json   # no run

Each bench runs alone in its own process (``bench/bench_NAME.py --json``), its own output
streamed as it goes; then the table of every figure: value, the baseline measured in the
same run, their ratio. The results go to bench/results/<UTC time>.json (git-ignored).
``--compare OLD.json`` sets each figure beside the same figure of an older run: the
verdict compares ratios to their baselines when both have one (which cancels much of a
machine's load or speed), else the values. Exit status 1 when a bench crashed, missed
one of its targets (a limit, an error under load), or, with --compare, got worse.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import Figure, format_table

HERE = Path(__file__).resolve().parent
BENCHES = ["simulate", "ingest", "qc", "viewer", "vo", "tap_scale", "night", "demo", "reduce"]


def run_bench(name: str, quick: bool) -> dict:
    """Run one bench; its JSON, or a record of how it failed."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{name}.json"
        cmd = [sys.executable, str(HERE / f"bench_{name}.py"), "--json", str(out)]
        print(f"\n=== {name}: {' '.join(cmd[1:])}{' --quick' if quick else ''}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run([*cmd, "--quick"] if quick else cmd, cwd=HERE.parent)
        seconds = time.perf_counter() - t0
        if not out.exists():
            return {"bench": name, "status": f"crashed (exit {proc.returncode})",
                    "seconds": seconds, "figures": [], "checks": []}
        result = json.loads(out.read_text())
    failed = [c for c in result["checks"] if not c["passed"]]
    result["status"] = "ok" if proc.returncode == 0 and not failed else "targets missed"
    result["seconds"] = seconds
    return result


def _commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True,
                              text=True).stdout.strip()
    head = git("rev-parse", "--short", "HEAD")
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def run_all(names: list[str], quick: bool) -> dict:
    results = [run_bench(name, quick) for name in names]
    return {"created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "commit": _commit(), "host": socket.gethostname(), "cpus": os.cpu_count(),
            "quick": quick,
            "benches": {r["bench"]: {"status": r["status"], "seconds": r["seconds"],
                                     "checks": r["checks"]} for r in results},
            "figures": [f for r in results for f in r["figures"]]}


def figures_of(results: dict) -> list[Figure]:
    keys = Figure.__dataclass_fields__
    return [Figure(**{k: v for k, v in f.items() if k in keys}) for f in results["figures"]]


def summary(results: dict) -> bool:
    """Print the table of every figure and each bench's status; True when all is well."""
    print(f"\n=== all figures ({results['commit']}, {results['host']}, "
          f"{'quick' if results['quick'] else 'full size'})")
    print(format_table(figures_of(results), with_bench=True))
    ok = True
    for name, bench in results["benches"].items():
        missed = [c["what"] for c in bench["checks"] if not c["passed"]]
        ok = ok and bench["status"] == "ok"
        print(f"  {name:<9} {bench['status']:<16} {bench['seconds']:7.0f} s"
              + "".join(f"\n      missed: {m}" for m in missed))
    return ok


def _change(old: Figure, new: Figure) -> float | None:
    """new / old of the ratios to baseline when both have one, else of the values."""
    if old.ratio and new.ratio is not None:
        return new.ratio / old.ratio
    return new.value / old.value if old.value else None


def compare(old_results: dict, new_results: dict, tolerance: float) -> bool:
    """Each figure beside the older run's; True when none got worse beyond tolerance."""
    old = {(f.bench, f.name): f for f in figures_of(old_results)}
    print(f"\n=== compared with {old_results['commit']} ({old_results['created']})")
    print(f"{'figure':<48} {'old':>10} {'new':>10} {'unit':<8} {'change':>7}  verdict")
    worse = 0
    for f in figures_of(new_results):
        before = old.pop((f.bench, f.name), None)
        if before is None:
            print(f"{f.name[:48]:<48} {'-':>10} {f.value:>10.4g} {f.unit[:8]:<8}        new")
            continue
        change = _change(before, f)
        verdict = "same"
        if change is not None and abs(change - 1) > tolerance:
            improved = (change < 1) == (f.better == "lower")
            verdict = "better" if improved else "WORSE"
            worse += not improved
        shown = "-" if change is None else f"{change:.3f}"
        print(f"{f.name[:48]:<48} {before.value:>10.4g} {f.value:>10.4g} {f.unit[:8]:<8} "
              f"{shown:>7}  {verdict}")
    for bench, name in old:
        print(f"{name[:48]:<48} (only in the old run, bench {bench})")
    print(f"  change: new / old (of the ratio to its baseline when there is one); "
          f"tolerance {tolerance:.0%}")
    return worse == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every bench at reduced size")
    parser.add_argument("--only", help=f"comma-separated, among {','.join(BENCHES)}")
    parser.add_argument("--skip", default="", help="comma-separated benches to leave out")
    parser.add_argument("--out", type=Path, help="JSON file to write "
                        "(default bench/results/<UTC time>.json)")
    parser.add_argument("--compare", type=Path, metavar="OLD.json",
                        help="set every figure beside the same figure of an older run")
    parser.add_argument("--results", type=Path, metavar="NEW.json",
                        help="do not run: take these results (with --compare)")
    parser.add_argument("--tolerance", type=float, default=0.15,
                        help="relative change taken as noise (default 0.15)")
    args = parser.parse_args()
    if args.results:
        results = json.loads(args.results.read_text())
    else:
        names = args.only.split(",") if args.only else BENCHES
        unknown = set(names) - set(BENCHES)
        if unknown:
            parser.error(f"unknown benches {sorted(unknown)}; known: {', '.join(BENCHES)}")
        results = run_all([n for n in names if n not in args.skip.split(",")], args.quick)
        out = args.out or HERE / "results" / (
            dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + ".json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1))
        print(f"\nresults written to {out}")
    ok = summary(results)
    if args.compare:
        ok = compare(json.loads(args.compare.read_text()), results, args.tolerance) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
