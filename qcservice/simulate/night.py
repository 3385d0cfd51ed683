"""The simulator's Python API: :func:`simulate_night` and :func:`simulate`.

A night is written to ``OUTDIR/<YYYY-MM-DD>/``: ``raw/MUSE.<DATE-OBS>.fits`` (ESO
archive names), ``products/<PRO_CATG>[-NN][_k].fits`` and ``truth.json``. The same
arguments always give byte-identical files: nothing depends on the wall clock, and
every random stream is keyed by the seed, the night and what it makes.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from qcservice.simulate import calibrations, detector
from qcservice.simulate.context import RAW_DIR, NightContext, default_workers, write_raw_frames
from qcservice.simulate.drifts import drifted
from qcservice.simulate.faults import BAD_SKY_FACTOR, NOISY_FACTOR
from qcservice.simulate.layout import SCALES
from qcservice.simulate.products import PRODUCT_DIR, product_name
from qcservice.simulate.schedule import Exposure, NightPlan, plan_night
from qcservice.simulate.science_ob import run_science_ob
from qcservice.simulate.seeding import rng
from qcservice.simulate.signals import saturated_patch
from qcservice.simulate.truth import NightTruth
from qcservice.vocabulary import INS_MODES


def _modes(modes: str | Sequence[str]) -> tuple[str, ...]:
    chosen = (modes,) if isinstance(modes, str) else tuple(dict.fromkeys(modes))
    unknown = [m for m in chosen if m not in INS_MODES]
    if not chosen or unknown:
        raise ValueError(f"instrument modes must be among {INS_MODES}, got {chosen}")
    return chosen


def _detectors(seed: int, night: dt.date, plan: NightPlan) -> list:
    """The 24 detectors on ``night``: the seed's instrument, drifted slowly since EPOCH."""
    return drifted(detector.instrument(seed, night.toordinal(), plan.scale.layout), night)


# present while a night is being written: an interrupted simulation is one to redo
UNFINISHED = ".simulating"


def _prepare(directory: Path) -> None:
    """Make ``directory`` empty for a night; only ever clear an earlier simulation (a
    finished one, with its truth.json, or an interrupted one, with its marker)."""
    if directory.exists() and any(directory.iterdir()):
        if not ((directory / "truth.json").is_file() or (directory / UNFINISHED).is_file()):
            raise FileExistsError(f"{directory} is not empty and holds no simulated night "
                                  "(no truth.json): refusing to write into it")
        for sub in (RAW_DIR, PRODUCT_DIR):
            shutil.rmtree(directory / sub, ignore_errors=True)
        (directory / "truth.json").unlink(missing_ok=True)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / UNFINISHED).touch()


def _detector_truth(ctx: NightContext) -> dict:
    ifus = {}
    for det in ctx.detectors:
        ifus[str(det.ifu)] = {
            "chip_id": det.chip_id, "chip_index": det.chip_index,
            "quadrants": {str(q): {"bias_level_adu": qt.bias_adu, "ron_adu": qt.ron_adu,
                                   "ron_e": round(qt.ron_e, 4), "gain_e_per_adu": qt.gain,
                                   "raw_bias_ron_adu": round(
                                       qt.ron_adu * ctx.plan.faults.ron_factor(det.ifu), 4)}
                          for q, qt in enumerate(det.quadrants, start=1)},
            "dark_current_e_per_pix_per_h": det.dark_e_per_h,
            "flat_slice_efficiency": list(det.slice_efficiency),
            "hot_pixels": [list(h) for h in det.hot_pixels]}
    return {"layout": ctx.layout.as_dict(), "ifus": ifus,
            "note": "ron_e = ron_adu * gain; raw_bias_ron_adu includes the noisy-IFU fault; "
                    "ESO DET OUTn RON holds ron_e, GAIN gain_e_per_adu; hot_pixels are "
                    "(row, col, e-/h) in the trimmed image"}


def _exposure_truth(plan: NightPlan) -> list[dict]:
    return [{"file": f"raw/{e.name}", "tag": e.tag, "dpr": list(e.dpr), "ins_mode": e.ins_mode,
             "date_obs": e.date_obs, "exptime_s": e.exptime_s, "ob_id": e.ob.ob_id,
             "prog_id": e.ob.prog_id, "object": e.object_name, "airmass": list(e.airmass),
             "seeing_arcsec": list(e.seeing_arcsec), "broken": e.broken}
            for e in plan.exposures]


def _fault_truth(plan: NightPlan) -> list[dict]:
    f, out = plan.faults, []
    if f.noisy_ifu:
        out.append({"kind": "noisy_ifu", "ifu": f.noisy_ifu, "factor": NOISY_FACTOR,
                    "files": [f"raw/{e.name}" for e in plan.of_tag("BIAS")]
                    + [f"products/{product_name('MASTER_BIAS', f.noisy_ifu)}"]})
    if f.saturated_flat_ifu:
        rows, cols = saturated_patch(plan.scale.layout)
        k = 1 if len(plan.modes) > 1 else None
        out.append({"kind": "saturated_flat", "ifu": f.saturated_flat_ifu,
                    "ins_mode": plan.modes[0], "trimmed_rows": [rows.start, rows.stop],
                    "trimmed_cols": [cols.start, cols.stop],
                    "files": [f"raw/{e.name}" for e in plan.of_tag("FLAT", plan.modes[0])]
                    + [f"products/{product_name('MASTER_FLAT', f.saturated_flat_ifu, k)}"]})
    if f.dead_slice:
        ifu, slice_no = f.dead_slice
        masters = [product_name("MASTER_FLAT", ifu, i + 1 if len(plan.modes) > 1 else None)
                   for i in range(len(plan.modes))]
        out.append({"kind": "dead_slice", "ifu": ifu, "slice": slice_no,
                    "files": [f"raw/{e.name}" for e in plan.of_tag("FLAT")]
                    + [f"products/{m}" for m in masters]})
    for ob in plan.science:
        if ob.bad_sky:
            k = ob.k if len(plan.science) > 1 else None
            out.append({"kind": "bad_sky_subtraction", "cube_k": ob.k, "factor": BAD_SKY_FACTOR,
                        "files": [f"products/{product_name('DATACUBE_FINAL', k=k)}"]})
    for e in plan.exposures:
        if e.broken:
            out.append({"kind": "broken_header", "reason": e.broken, "files": [f"raw/{e.name}"]})
    return out


def simulate_night(outdir: Path | str, night: dt.date | str, scale: str = "tiny",
                   modes: str | Sequence[str] = ("WFM-NOAO-N",), seed: int = 0,
                   faults: bool = True, workers: int | None = None) -> NightTruth:
    """Write one simulated night under ``outdir/<night>/`` and return its truth.

    An earlier simulation of the same night there is replaced (so that truth.json
    lists exactly the files present); any other non-empty folder is refused.
    """
    night = dt.date.fromisoformat(night) if isinstance(night, str) else night
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    chosen = _modes(modes)
    plan = plan_night(night, SCALES[scale], chosen, seed, faults,
                      rng(seed, "plan", night.toordinal()))
    directory = Path(outdir) / night.isoformat()
    _prepare(directory)
    truth = NightTruth(night, seed, scale, chosen, faults, directory)
    ctx = NightContext(plan, _detectors(seed, night, plan), truth, workers or default_workers())
    truth.detector = _detector_truth(ctx)
    truth.exposures = _exposure_truth(plan)
    truth.faults = _fault_truth(plan)
    for step in (calibrations.biases, calibrations.darks, calibrations.flats,
                 calibrations.arcs, calibrations.other_calibration_raws):
        step(ctx)
    n_sources = plan.scale.n_stars + plan.scale.n_galaxies + plan.scale.n_emitters
    total = n_sources * len(plan.science)
    index = 1
    for ob in plan.science:
        index = run_science_ob(ctx, ob, index, total)
    truth.write()
    (directory / UNFINISHED).unlink()
    return truth


def raw_exposure_context(outdir: Path | str, night: dt.date | str, tag: str = "BIAS",
                         scale: str = "full", mode: str = "WFM-NOAO-N", seed: int = 0
                         ) -> tuple[NightContext, Exposure]:
    """The context of a night (no faults) and its first exposure of pipeline tag ``tag``."""
    night = dt.date.fromisoformat(night) if isinstance(night, str) else night
    plan = plan_night(night, SCALES[scale], _modes(mode), seed, False,
                      rng(seed, "plan", night.toordinal()))
    truth = NightTruth(night, seed, scale, plan.modes, False, Path(outdir) / night.isoformat())
    ctx = NightContext(plan, _detectors(seed, night, plan), truth, default_workers())
    return ctx, plan.of_tag(tag)[0]


def write_raw_exposure(outdir: Path | str, night: dt.date | str, tag: str = "BIAS",
                       scale: str = "full", mode: str = "WFM-NOAO-N", seed: int = 0) -> Path:
    """Write only the night's first raw frame of pipeline tag ``tag`` (e.g. one
    full-size 860 MB exposure for a benchmark); returns its path. No truth.json."""
    ctx, exposure = raw_exposure_context(outdir, night, tag, scale, mode, seed)
    write_raw_frames(ctx, [exposure])
    return ctx.raw_path(exposure)


def simulate(outdir: Path | str, nights: int = 1, scale: str = "tiny",
             modes: str | Sequence[str] = ("WFM-NOAO-N",), seed: int = 0,
             start_night: dt.date | str = "2014-12-07", faults: bool = True,
             progress: Callable[[NightTruth], None] | None = None, every_days: int = 1,
             occasional_faults: bool = False) -> list[NightTruth]:
    """Write ``nights`` nights from ``start_night``, ``every_days`` apart; ``progress``
    sees each. ``occasional_faults``: only the last night and every fifth night before
    it carry the deliberate faults (a history of mostly good nights)."""
    start = dt.date.fromisoformat(start_night) if isinstance(start_night, str) else start_night
    truths = []
    for i in range(nights):
        faulty = faults and (not occasional_faults or (nights - 1 - i) % 5 == 0)
        truth = simulate_night(outdir, start + dt.timedelta(days=i * every_days), scale,
                               modes, seed, faulty)
        if progress:
            progress(truth)
        truths.append(truth)
    return truths
