"""Benchmark of the MUSE night simulator.

    .venv/bin/python bench/bench_simulate.py [--quick] [--json PATH]

1. Wall time to write a tiny night (raw frames, products, truth.json): must be < 10 s.
2. Writing one full-size raw exposure (primary header + 24 CHANs of 4224 x 4240 uint16,
   ~860 MB) with the simulator's FITS writer -- the code path every raw frame takes:
   headers rendered, CHAN data written as big-endian int16 at their offsets, padded
   to 2880 bytes -- against numpy writing the same number of bytes with
   ``ndarray.tofile``, same run, same folder. The CHAN pixels are simulated beforehand
   (untimed) so both write the same kind of data from memory. ratio = numpy time /
   writer time (1: as fast as numpy); it must be >= 0.5.
3. For information: the end-to-end time of simulating *and* writing a full-size bias
   and a full-size object exposure (pixel generation dominates), with the same ratio.

Each timing runs three times, interleaved, each after ``os.sync()`` so that earlier
writes' dirty pages do not throttle later ones; the best time counts. Everything is
written into a temporary folder that is deleted at the end. --quick: exposures at the
'small' scale, one run each (the targets are then not checked).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from benchlib import Report, bench_arguments

from qcservice.simulate.context import make_chan, raw_specs
from qcservice.simulate.fitswrite import PlannedFits
from qcservice.simulate.night import raw_exposure_context, simulate_night, write_raw_exposure

TINY_LIMIT_S = 10.0
MIN_RATIO = 0.5
REPEATS = 3
NIGHT = "2014-12-07"


def timed(action: Callable[[], Path]) -> tuple[float, int]:
    """Seconds taken by ``action`` (after a sync) and the size of the file it wrote."""
    os.sync()
    start = time.perf_counter()
    path = action()
    seconds = time.perf_counter() - start
    size = path.stat().st_size
    path.unlink()
    return seconds, size


def bench_tiny(folder: Path, report: Report) -> float:
    start = time.perf_counter()
    truth = simulate_night(folder / "tiny", NIGHT, "tiny", "WFM-NOAO-N", seed=1)
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in truth.directory.rglob("*.fits"))
    print(f"tiny night: {seconds:.2f} s for {len(truth.files)} files, {size / 1e6:.0f} MB "
          f"(limit {TINY_LIMIT_S:.0f} s)")
    report.add("tiny night simulated and written", seconds, "s", TINY_LIMIT_S,
               "the 10 s wanted")
    shutil.rmtree(folder / "tiny")
    return seconds


def bench_full_raw(folder: Path, scale: str = "full", repeats: int = REPEATS
                   ) -> dict[str, tuple[float, int]]:
    """Best (seconds, bytes) of: numpy, the FITS writer, end-to-end BIAS and OBJECT."""
    ctx, bias = raw_exposure_context(folder / "full", NIGHT, "BIAS", scale, seed=1)
    chans = ctx.map_ifus(lambda det: make_chan(ctx, bias, det))
    specs = raw_specs(ctx, bias)

    def writer() -> Path:
        with PlannedFits(ctx.raw_path(bias), specs) as out:
            for ifu, chan in enumerate(chans, start=1):
                out.write(ifu, chan)
        return ctx.raw_path(bias)

    nbytes = sum(c.nbytes for c in chans)
    baseline = np.ones(nbytes // 2, dtype=">i2")  # same bytes, pages touched up front

    def numpy_write() -> Path:
        baseline.tofile(folder / "numpy.bin")
        return folder / "numpy.bin"

    runs: dict[str, Callable[[], Path]] = {
        "numpy": numpy_write, "writer": writer,
        "BIAS": lambda: write_raw_exposure(folder / "full", NIGHT, "BIAS", scale, seed=1),
        "OBJECT": lambda: write_raw_exposure(folder / "full", NIGHT, "OBJECT", scale, seed=1)}
    best: dict[str, tuple[float, int]] = {}
    for _ in range(repeats):
        for name, action in runs.items():
            result = timed(action)
            best[name] = min(result, best.get(name, (np.inf, 0)))
    return best


def report(best: dict[str, tuple[float, int]], figures: Report) -> float:
    """Print the full-size results; return the writer's ratio to numpy."""
    base_s, base_b = best["numpy"]
    print(f"numpy ndarray.tofile, {base_b / 1e6:.0f} MB: {base_s:.3f} s "
          f"({base_b / 1e6 / base_s:.0f} MB/s)  [baseline]")
    labels = {"writer": "FITS writer, full raw exposure (pixels ready)",
              "BIAS": "simulate + write full BIAS exposure (info)",
              "OBJECT": "simulate + write full OBJECT exposure (info)"}
    for name, label in labels.items():
        seconds, size = best[name]
        print(f"{label}, {size / 1e6:.0f} MB: {seconds:.3f} s ({size / 1e6 / seconds:.0f} MB/s)"
              f", ratio to numpy {base_s / seconds:.2f}")
        short = {"writer": "raw exposure, FITS writer", "BIAS": "BIAS simulated + written",
                 "OBJECT": "OBJECT simulated + written"}[name]
        figures.add(f"{short} ({size / 1e6:.0f} MB)", size / 1e6 / seconds, "MB/s",
                    base_b / 1e6 / base_s, "numpy ndarray.tofile", better="higher")
    return base_s / best["writer"][0]


def main() -> int:
    args = bench_arguments(__doc__.split("\n\n")[0]).parse_args()
    figures = Report("simulate")
    folder = Path(tempfile.mkdtemp(prefix="musedc-bench-"))
    try:
        tiny = bench_tiny(folder, figures)
        ratio = report(bench_full_raw(folder, "small" if args.quick else "full",
                                      1 if args.quick else REPEATS), figures)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if not args.quick:
        figures.check(f"tiny night in under {TINY_LIMIT_S:.0f} s", tiny < TINY_LIMIT_S)
        figures.check(f"raw exposure written at >= {MIN_RATIO} of numpy's speed",
                      ratio >= MIN_RATIO)
    return figures.finish(args.json)


if __name__ == "__main__":
    sys.exit(main())
