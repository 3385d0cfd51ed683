"""What the benchmarks share: best-of timing, a free loopback port, a scratch instance,
concurrent clients, and the figures every bench reports (printed as a table, written as
JSON for bench/run_all.py)."""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
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


@dataclass
class Figure:
    """One measured figure, with the baseline measured in the same run (ratio = value /
    baseline) and the direction in which it is better."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    better: str = "lower"       # or "higher" (rates)
    bench: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0 or not math.isfinite(self.value):
            return None
        return self.value / self.baseline

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


@dataclass
class Report:
    """The figures and checks of one bench run."""

    bench: str
    figures: list[Figure] = field(default_factory=list)
    checks: list[tuple[str, bool]] = field(default_factory=list)   # (what, passed)
    started: float = field(default_factory=time.perf_counter)

    def add(self, name: str, value: float, unit: str, baseline: float | None = None,
            baseline_name: str = "", better: str = "lower", **_ignored) -> Figure:
        """Record a figure (extra keys, such as a precomputed ratio, are ignored)."""
        figure = Figure(name, float(value), unit, None if baseline is None else
                        float(baseline), baseline_name, better, self.bench)
        self.figures.append(figure)
        return figure

    def check(self, what: str, passed: bool) -> bool:
        """Record a target (a limit, zero errors under load): run_all fails when missed."""
        self.checks.append((what, bool(passed)))
        return passed

    def table(self) -> str:
        return format_table(self.figures)

    def finish(self, json_path: str | None) -> int:
        """Print the table and the checks, write JSON when asked; 1 when a check failed."""
        print(f"\n[{self.bench}]\n{self.table()}")
        for what, passed in self.checks:
            print(f"  {'ok  ' if passed else 'FAIL'} {what}")
        if json_path:
            Path(json_path).write_text(json.dumps({
                "bench": self.bench, "seconds": time.perf_counter() - self.started,
                "figures": [f.as_dict() for f in self.figures],
                "checks": [{"what": w, "passed": p} for w, p in self.checks]}, indent=1))
        return 0 if all(p for _, p in self.checks) else 1


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.3e}"


def format_table(figures: list[Figure], with_bench: bool = False) -> str:
    """Figure, value, baseline (named), ratio: one line each."""
    lines = [f"{'bench    ' if with_bench else ''}{'figure':<48} {'value':>10} {'unit':<8} "
             f"{'baseline':>10} {'ratio':>7}  baseline is"]
    for f in figures:
        ratio = "-" if f.ratio is None else f"{f.ratio:.3g}"
        lines.append(f"{f'{f.bench[:8]:<9}' if with_bench else ''}{f.name[:48]:<48} "
                     f"{_num(f.value):>10} {f.unit[:8]:<8} {_num(f.baseline):>10} {ratio:>7}  "
                     f"{f.baseline_name}")
    return "\n".join(lines)


def bench_arguments(description: str) -> argparse.ArgumentParser:
    """A parser with the options every bench has: --quick and --json PATH."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true",
                        help="reduced sizes, for a check that everything runs")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    return parser


def scale_arguments(description: str) -> tuple[argparse.Namespace, str]:
    """The options of a bench over a simulated night, parsed, and its scale: --scale
    (tiny, small, full; small by default) and --quick, which means tiny."""
    parser = bench_arguments(description)
    parser.add_argument("--scale", default="small", choices=["tiny", "small", "full"])
    args = parser.parse_args()
    return args, "tiny" if args.quick else args.scale


def add_load_arguments(parser: argparse.ArgumentParser, clients: int, seconds: float,
                       max_requests: int) -> None:
    """The options of a bench that runs :func:`load`: --clients, --seconds, --max-requests."""
    parser.add_argument("--clients", type=int, default=clients)
    parser.add_argument("--seconds", type=float, default=seconds)
    parser.add_argument("--max-requests", type=int, default=max_requests)


def load(request: Callable[[int], str | None], clients: int, seconds: float,
         max_requests: int) -> dict:
    """``clients`` threads calling ``request(k)`` (None, or the text of an error) until
    ``seconds`` have passed or ``max_requests`` were made, whichever comes first.
    Returns requests, rate (per second), p50 and p99 latency (s) and the errors."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    budget = iter(range(max_requests))

    def client() -> None:
        while time.monotonic() < stop_at:
            with lock:
                k = next(budget, None)
            if k is None:
                return
            t0 = time.perf_counter()
            try:
                error = request(k)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            with lock:
                latencies.append(time.perf_counter() - t0)
                if error:
                    errors.append(error)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    latencies.sort()
    n = len(latencies)
    return {"requests": n, "rate": n / elapsed, "errors": errors,
            "p50": latencies[n // 2] if n else math.nan,
            "p99": latencies[min(n - 1, int(n * 0.99))] if n else math.nan}


def add_load(report: Report, label: str, alone: dict, many: dict, clients: int) -> None:
    """Throughput, p50 and p99 under ``clients`` against one client alone, and the
    check that no request failed."""
    report.add(f"{label}: {clients} clients, throughput", many["rate"], "req/s",
               alone["rate"], "1 client", better="higher")
    report.add(f"{label}: {clients} clients, p50 latency", many["p50"] * 1e3, "ms",
               alone["p50"] * 1e3, "1 client")
    report.add(f"{label}: {clients} clients, p99 latency", many["p99"] * 1e3, "ms",
               alone["p99"] * 1e3, "1 client")
    report.add(f"{label}: {clients} clients, errors", len(many["errors"]), "requests",
               many["requests"], "requests made")
    report.check(f"{label}: 0 errors in {many['requests']} requests of {clients} clients "
                 f"(and {alone['requests']} alone)", not many["errors"] and not alone["errors"])
    for error in (alone["errors"] + many["errors"])[:5]:
        print("  FAILED", error)
