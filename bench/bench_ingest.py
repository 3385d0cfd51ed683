"""Benchmark: ingest speed on simulated raw files, against a bare astropy header loop.

    .venv/bin/python bench/bench_ingest.py [--scale small] [--nights 2] [--repeat 3]
                                           [--quick] [--json PATH]

Simulates raw exposures (25 HDUs each: primary + CHAN01..CHAN24), then measures, in the
same run and on the same files (page cache warm for all):
- baseline: ``astropy.io.fits.getheader(f)`` over every file (primary header only);
- reading every header of every HDU with our reader, and with astropy for reference;
- the full ingest into a fresh embedded PostgreSQL (parse, classify, store, with and
  without the SHA-256 checksum; 1 and 2 workers).
Prints files per second and each figure's ratio to the baseline (>1: faster).
--quick: one tiny night, one repeat.
"""

from __future__ import annotations

import shutil
import sys

from astropy.io import fits
from benchlib import Report, bench_arguments, best_of, scratch_instance
from sqlalchemy import create_engine, text

from qcservice.db import make_engine
from qcservice.db.cluster import EmbeddedCluster
from qcservice.fits.header import read_headers
from qcservice.ingest.runner import ingest_paths
from qcservice.simulate import simulate


def main() -> int:
    parser = bench_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="small", choices=["tiny", "small", "full"])
    parser.add_argument("--nights", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        args.scale, args.nights, args.repeat = "tiny", 1, 1
    report = Report("ingest")

    work, settings = scratch_instance()
    try:
        simulate(work / "sim", nights=args.nights, scale=args.scale, seed=3, faults=False)
        raws = sorted((work / "sim").glob("*/raw/*.fits"))
        n = len(raws)
        size = sum(p.stat().st_size for p in raws) / n
        print(f"{n} simulated raw exposures ({args.scale}, {size / 1e6:.1f} MB each, "
              f"{len(read_headers(raws[0]))} HDUs)\n")

        def astropy_all_headers() -> None:
            for p in raws:
                with fits.open(p) as hdul:
                    [h.header for h in hdul]

        baseline = best_of(args.repeat, lambda: [fits.getheader(p) for p in raws])
        figures = [
            ("our reader, all HDU headers", best_of(args.repeat,
                                                    lambda: [read_headers(p) for p in raws])),
            ("astropy fits.open, all HDU headers", best_of(args.repeat, astropy_all_headers)),
        ]
        engine = make_engine(settings)
        url = engine.url.render_as_string(hide_password=False)
        engine.dispose()
        for label, workers, checksum in [("ingest, 1 worker, no checksum", 1, False),
                                         ("ingest, 2 workers, no checksum", 2, False),
                                         ("ingest, 2 workers, SHA-256", 2, True)]:
            def run(workers: int = workers, checksum: bool = checksum) -> None:
                eng = create_engine(url)
                with eng.begin() as conn:
                    conn.execute(text("TRUNCATE qc.files, qc.ingest_failures CASCADE"))
                    conn.execute(text("DELETE FROM qc.groups WHERE kind = 'programme'"))
                report = ingest_paths(eng, raws, workers=workers, checksum=checksum)
                assert report.ok and report.new == n, report.summary()
                eng.dispose()
            figures.append((label, best_of(args.repeat, run)))

        for label, seconds in figures:
            report.add(label, n / seconds, "files/s", n / baseline,
                       "astropy getheader (primary)", better="higher")
    finally:
        EmbeddedCluster(settings).stop()
        shutil.rmtree(work, ignore_errors=True)
    return report.finish(args.json)


if __name__ == "__main__":
    sys.exit(main())
