"""Benchmark and acceptance run of ``musedc reduce`` at full size (the official pipeline).

    .venv/bin/python bench/bench_reduce.py [--quick] [--json PATH] [--ifus 2,5]

Writes a full-size night's calibration raw frames (biases, darks, lamp flats, the arc:
4224 x 4240 x 24 CHANs each, ~860 MB per exposure), the exposures of its first science
OB and the simulator's static calibrations, catalogues them in an embedded database of
its own, then reduces two IFUs with esorex, the whole cascade (muse_bias -> muse_dark ->
muse_flat -> muse_wavecal -> muse_scibasic -> muse_scipost -> muse_exp_combine). The
IFUs are by default the two whose strips of the field hold the most of the OB's stars:

1. per recipe and IFU: wall time and peak memory (from ``qc.recipe_runs``);
2. the night's reduction wall time with one worker, then again (from scratch, into a
   new folder) with two: ratio = two / one (< 1 is a speed-up);
3. checks: every run succeeds; one and two workers give the same data (checksums); the
   pipeline's read noise (QC BIAS MASTERn RON) is the injected one within 3 %;
   muse_flat finds 48 slices of the injected width (76 px); muse_wavecal's resolving
   power is the injected one (lambda / FWHM of the injected LSF) within 5 %, its fit
   RMS below 0.05 A;
4. the cubes (each exposure's and the OB's combined one) against the scene: every star
   well inside the reduced strips found at its injected position (offset common to
   all), its PSF FWHM at 7000 A and its flux density at 6800-7200 A against the truth
   (within 10 %);
5. our QC of each cube (sky residual, PSF, ...) with the project's thresholds: Pass.

--quick: the tiny scale (muse_flat then fails: slices too narrow), only to see that
everything runs. Needs ~25 GB of free disk at full size; everything is deleted at the end.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import numpy as np
from benchlib import Report, bench_arguments, scratch_instance
from sqlalchemy import text

from qcservice.db import make_engine
from qcservice.ingest.runner import ingest_paths
from qcservice.reduce.associate import STEPS
from qcservice.reduce.run import run_reduce
from qcservice.simulate.context import write_raw_frames
from qcservice.simulate.cube import CubeModel
from qcservice.simulate.night import raw_exposure_context
from qcservice.simulate.statics import write_statics

NIGHT = "2014-12-07"
TAGS = ("BIAS", "DARK", "FLAT", "ARC")
INJECTED_SLICE_WIDTH = 76.0


def write_night(folder: Path, scale: str) -> tuple[dict, CubeModel]:
    """The night's calibration raw frames (no faults), its first science OB and the
    static calibrations; the injected read noise and the OB's scene."""
    ctx, _ = raw_exposure_context(folder, NIGHT, scale=scale)
    for tag in TAGS:
        write_raw_frames(ctx, ctx.plan.of_tag(tag))
    ob = ctx.plan.science[0]
    write_raw_frames(ctx, ob.exposures)
    write_statics(folder)
    return ({str(d.ifu): {str(q): qt.ron_e for q, qt in enumerate(d.quadrants, 1)}
             for d in ctx.detectors}, ctx.scene(ob.exposures[0]))


def recipe_rows(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT run_key, recipe, ifu, status, duration_s, peak_mem_mb, message, outputs "
            "FROM qc.recipe_runs ORDER BY recipe_run_id")).all()


def checksums(rows: list) -> dict[str, list[str]]:
    return {r.run_key: [o["data_sha256"] for o in r.outputs] for r in rows}


def reduce_timed(engine, work: Path, static: Path, ifus: list[int], workers: int,
                 timeout: float) -> float:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE qc.recipe_runs CASCADE"))
    start = time.perf_counter()
    run_reduce(engine, work, ifus=ifus, steps=STEPS, static_dir=static, workers=workers,
               catalogue=False, timeout_s=timeout)
    return time.perf_counter() - start


def pipeline_qc(rows: list, truth: dict, report: Report) -> None:
    from astropy.io import fits

    worst = 0.0
    for r in rows:
        if r.recipe == "muse_bias" and r.status == "ok":
            h = fits.getheader(r.outputs[0]["path"])
            for q in (1, 2, 3, 4):
                injected = truth[str(r.ifu)][str(q)]
                worst = max(worst, abs(h[f"ESO QC BIAS MASTER{q} RON"] / injected - 1))
        if r.recipe == "muse_flat" and r.status == "ok":
            h = fits.getheader(next(o["path"] for o in r.outputs
                                    if o["pro_catg"] == "TRACE_TABLE"))
            width = h.get("ESO QC TRACE WIDTHS MEDIAN", float("nan"))
            report.add(f"IFU {r.ifu}: muse_flat median slice width", width, "pix",
                       INJECTED_SLICE_WIDTH, "injected width")
            report.check(f"IFU {r.ifu}: 48 slices traced, width {width:.2f} = 76 +- 0.5",
                         abs(width - INJECTED_SLICE_WIDTH) < 0.5)
        if r.recipe == "muse_wavecal" and r.status == "ok":
            wavecal_qc(r, report)
    report.add("pipeline RON / injected RON, worst quadrant", 1 + worst, "", 1.0, "1")
    report.check(f"pipeline read noise = injected within 3 % ({100 * worst:.2f} %)",
                 worst < 0.03)


def wavecal_qc(row, report: Report) -> None:
    """The pipeline's resolving power and fit RMS against the injected line widths."""
    from astropy.io import fits

    from qcservice.simulate.spectra import ARC_LINES, CCD_WAVE_MAX_A, CCD_WAVE_MIN_A, LSF_SIGMA_A

    row_a = (CCD_WAVE_MAX_A - CCD_WAVE_MIN_A) / 4112

    h = fits.getheader(row.outputs[0]["path"])
    resol = np.mean([h[f"ESO QC WAVECAL SLICE{j} RESOL"] for j in range(1, 49)])
    rms = np.mean([h[f"ESO QC WAVECAL SLICE{j} FIT RMS"] for j in range(1, 49)])
    # the injected Gaussian, integrated over 1.25 A rows: sigma^2 + row^2 / 12
    fwhm = 2.3548 * np.sqrt(LSF_SIGMA_A ** 2 + row_a ** 2 / 12)
    injected = np.mean([w for w, _ in ARC_LINES]) / fwhm
    report.add(f"IFU {row.ifu}: muse_wavecal mean resolving power", resol, "", injected,
               "injected: mean lambda / FWHM (pixel-integrated)")
    report.add(f"IFU {row.ifu}: muse_wavecal mean fit RMS", rms, "A")
    report.check(f"IFU {row.ifu}: R {resol:.0f} = injected {injected:.0f} within 5 %, "
                 f"RMS {rms:.3f} A < 0.05 A", abs(resol / injected - 1) < 0.05 and rms < 0.05)


def _peaks(image: np.ndarray, n: int = 6) -> list[tuple[float, float, float, float]]:
    """(x, y, FWHM px, total) of the ``n`` brightest point sources: Moffat fits (the
    simulator's PSF shape) over a flat background."""
    from scipy.optimize import curve_fit

    from qcservice.simulate.cube import moffat

    work, noise = np.nan_to_num(image - np.nanmedian(image)), np.nanstd(image)
    yy, xx = np.mgrid[:image.shape[0], :image.shape[1]]
    found = []
    for _ in range(n):
        py, px = np.unravel_index(np.argmax(work), work.shape)
        if work[py, px] < 10 * noise:
            break
        box = (slice(max(py - 8, 0), py + 9), slice(max(px - 8, 0), px + 9))
        sub, ok = image[box], np.isfinite(image[box])
        work[box] = 0
        try:
            (total, x, y, fwhm, _), _ = curve_fit(
                lambda c, a, xc, yc, f, b: a * moffat((c[0] - xc) ** 2 + (c[1] - yc) ** 2, f)
                + b, (xx[box][ok], yy[box][ok]), sub[ok],
                p0=(20 * sub[ok].max(), px, py, 4.0, np.nanmedian(image)))
        except RuntimeError:
            continue
        found.append((x, y, abs(fwhm), total))
    return found


def cube_vs_truth(rows: list, model: CubeModel, report: Report) -> None:
    """Each pipeline cube's stars against the scene: matched with one common offset
    (the cube covers the reduced IFUs' strips only), PSF FWHM and flux density at
    6800-7200 A against the injected ones."""
    from astropy.io import fits

    x0, y0 = (model.nx - 1) / 2, (model.ny - 1) / 2
    stars = [s for s in model.sources if s.kind == "star"]
    for r in rows:
        if r.recipe not in ("muse_scipost", "muse_exp_combine") or r.status != "ok":
            continue
        path = next(o["path"] for o in r.outputs if o["pro_catg"] == "DATACUBE_FINAL")
        with fits.open(path) as hdul:
            data, h = hdul["DATA"].data, hdul["DATA"].header
            wave = h["CRVAL3"] + (np.arange(data.shape[0]) + 1 - h["CRPIX3"]) * h["CD3_3"]
            band = (wave > 6800) & (wave < 7200)
            peaks = _peaks(np.nanmean(data[band], axis=0))
        # the offset most peaks agree with, trying each (peak, star) pair
        best: list = []
        for px, py, *_ in peaks:
            for s in stars:
                dx, dy = px - (s.x - x0), py - (s.y - y0)
                pairs = [(p, t) for p in peaks for t in stars
                         if abs(p[0] - (t.x - x0) - dx) < 0.5 and abs(p[1] - (t.y - y0) - dy)
                         < 0.5]
                best = max(best, pairs, key=len)
        label = r.recipe + " " + r.run_key.split("/")[2]
        report.check(f"{label}: {len(best)} of {len(peaks)} stars found at their injected "
                     "relative positions (0.5 spaxel)", len(best) >= 2 and len(best) ==
                     len(peaks))
        truth_fwhm = model.fwhm_7000_arcsec / model.pixscale_arcsec
        for (_, _, fwhm, total), s in best:
            flux = float(np.mean(s.spectrum(wave[band])))
            report.add(f"{label}: star {s.id} FWHM / injected", fwhm / truth_fwhm, "",
                       1.0, "1")
            report.add(f"{label}: star {s.id} flux / injected", total / flux, "", 1.0, "1")
            report.check(f"{label}: star {s.id} FWHM {fwhm * model.pixscale_arcsec:.3f}\" = "
                         f"injected {model.fwhm_7000_arcsec:.3f}\" within 10 %",
                         abs(fwhm / truth_fwhm - 1) < 0.1)
            report.check(f"{label}: star {s.id} flux {total / flux:.3f} x injected, within "
                         "10 %", abs(total / flux - 1) < 0.1)


def cube_verdicts(rows: list, report: Report) -> None:
    """Our QC of each pipeline cube, judged by the project's thresholds: it must pass."""
    import datetime as dt

    from astropy.io import fits

    from qcservice.qc import thresholds as thr
    from qcservice.qc.cubeqc import cube_qc
    from qcservice.qc.evaluate import evaluate

    limits = thr.ThresholdSet([t for f in thr.default_files() for t in thr.read_file(f)])
    for r in rows:
        if r.recipe not in ("muse_scipost", "muse_exp_combine") or r.status != "ok":
            continue
        path = next(o["path"] for o in r.outputs if o["pro_catg"] == "DATACUBE_FINAL")
        metrics = cube_qc(path, None).metrics
        verdict = evaluate([(m.ifu, m.subunit, m.name, m.value) for m in metrics], limits,
                           dt.date.fromisoformat(NIGHT), fits.getval(path, "ESO INS MODE"))
        label = r.recipe + " " + r.run_key.split("/")[2]
        ratio = next((m.value for m in metrics if m.name == "sky.residual_ratio"), None)
        report.add(f"{label}: our QC sky.residual_ratio", ratio or float("nan"), "", 1.0,
                   "clean cube (warning at 2, error at 3)")
        report.check(f"{label}: our QC {verdict.state()} {verdict.file_flags or ''}",
                     verdict.state() == "Pass")


def catalogued_and_checked(engine, rows: list, report: Report) -> None:
    """The products catalogued (QC1 harvested), and our QC of masters and wavecal tables
    run on the pipeline's own (the raw frames' QC is bench_qc's)."""
    from qcservice.qc.registry import TASKS
    from qcservice.reduce.run import catalogue_products

    catalogue_products(engine)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM qc.recipe_run_products")).scalar()
    outputs = [(o, r.ifu) for r in rows if r.status == "ok" for o in r.outputs]
    report.check(f"{n} of {len(outputs)} pipeline products catalogued", n == len(outputs) > 0)
    errors = []
    for out, ifu in outputs:
        try:
            check = TASKS.get(out["pro_catg"])
            if check is None or check.kind != "product" or not check.per_ifu:
                continue
            metrics = check.resolve()(out["path"], ifu).metrics
            if not metrics:
                errors.append(f"{out['path']}: no metric")
        except Exception as exc:  # report, do not stop the bench
            errors.append(f"{out['path']}: {exc}")
    for e in errors:
        print(e, file=sys.stderr)
    report.check(f"our QC runs on the pipeline's masters and wavecal tables ({len(errors)} "
                 "errors)", not errors)


def _discard(settings, work: Path) -> None:
    """Stop the bench's database and delete its ~12 GB of frames."""
    from qcservice.db.cluster import EmbeddedCluster

    EmbeddedCluster(settings).stop()
    shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = bench_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--ifus", default="13,14",
                        help="IFUs to reduce (default 13,14: three stars of the OB)")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds before a recipe is killed (default 900)")
    args = parser.parse_args()
    ifus = [int(i) for i in args.ifus.split(",")]
    report = Report("reduce")
    work, settings = scratch_instance()
    try:
        truth, model = write_night(work / "sim", "tiny" if args.quick else "full")
        engine = make_engine(settings)
        ingest_paths(engine, [work / "sim" / NIGHT / "raw"], checksum=False)
        static = work / "sim" / "static"
        one = reduce_timed(engine, work / "one", static, ifus, 1, args.timeout)
        rows_one = recipe_rows(engine)
        for r in rows_one:
            what = f"IFU {r.ifu}" if r.ifu else r.run_key.split("/")[2]
            report.add(f"{what}: {r.recipe} ({r.status})", r.duration_s or 0, "s")
            report.add(f"{what}: {r.recipe} peak memory", r.peak_mem_mb or 0, "MB")
            if r.status != "ok":
                print(f"{r.run_key}: {r.status}: {r.message[:1500]}", file=sys.stderr)
        two = reduce_timed(engine, work / "two", static, ifus, 2, args.timeout)
        rows_two = recipe_rows(engine)
        report.add(f"night ({len(ifus)} IFUs) with 2 workers", two, "s", one,
                   "the same with 1 worker")
        # at the tiny scale (--quick) muse_flat cannot trace: only bias and dark must run
        must = ("muse_bias", "muse_dark") + (() if args.quick else (
            "muse_flat", "muse_wavecal", "muse_scibasic", "muse_scipost", "muse_exp_combine"))
        good = [r for r in rows_one if r.recipe in must]
        report.check(f"{', '.join(must)} runs all succeed",
                     bool(good) and all(r.status == "ok" for r in good))
        report.check("1 and 2 workers give identical data",
                     checksums(rows_one) == checksums(rows_two))
        pipeline_qc(rows_one, truth, report)
        cube_vs_truth(rows_one, model, report)
        cube_verdicts(rows_one, report)
        catalogued_and_checked(engine, rows_two, report)
        engine.dispose()
    except Exception:
        report.finish(args.json)   # what was measured before the crash is not lost
        raise
    finally:
        _discard(settings, work)
    return report.finish(args.json)


if __name__ == "__main__":
    sys.exit(main())
