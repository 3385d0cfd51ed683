"""The calibration part of a night: raw biases, darks, flats, arcs, sky flat, standards,
and the per-IFU products MASTER_BIAS, MASTER_DARK, MASTER_FLAT and WAVECAL_TABLE.

Products reference their inputs as the pipeline does: ``ESO PRO REC1 RAWj NAME`` are
the archive names of the raw frames, ``ESO PRO REC1 CALj NAME`` the product file
names of the calibrations used (e.g. ``MASTER_BIAS-05.fits``).
"""

from __future__ import annotations

import numpy as np

from qcservice.simulate import headers, masters
from qcservice.simulate.context import NightContext, write_raw_frames
from qcservice.simulate.detector import IfuDetector
from qcservice.simulate.headers import Recipe
from qcservice.simulate.layout import slice_columns, slice_qc_rows
from qcservice.simulate.products import PRODUCT_DIR, product_name, write_master, write_table
from qcservice.simulate.schedule import Exposure
from qcservice.simulate.seeding import rng
from qcservice.simulate.signals import signal_image
from qcservice.simulate.wavecal import wavecal
from qcservice.vocabulary import N_SLICE

_COMMON_PARAMS = [("overscan", "vpoly"), ("ovscreject", "dcr"), ("combine", "sigclip")]


def _mode_k(ctx: NightContext, ins_mode: str) -> int | None:
    """The ``_k`` file suffix of a per-mode calibration (none with a single mode)."""
    return ctx.plan.modes.index(ins_mode) + 1 if len(ctx.plan.modes) > 1 else None


def _primary(ctx: NightContext, det: IfuDetector, first: Exposure, name: str, step: int,
             pro_catg: str, recipe: Recipe, qc: list) -> list:
    pro = headers.pro_cards(pro_catg, [recipe], science=False, datancom=len(recipe.raws))
    return headers.product_primary_cards(
        first, ctx.plan.night, ctx.created(step, det.ifu), name,
        pro + qc, chip=headers.chip_cards(ctx.layout, det))


def _save_master(ctx: NightContext, det: IfuDetector, exps: list[Exposure], step: int,
                 pro_catg: str, recipe: Recipe, master: masters.Master, bunit: str,
                 k: int | None = None) -> str:
    name = product_name(pro_catg, det.ifu, k)
    primary = _primary(ctx, det, exps[0], name, step, pro_catg, recipe, master.qc)
    write_master(ctx.night_dir / PRODUCT_DIR / name, primary, master, bunit)
    ctx.record_product(f"{PRODUCT_DIR}/{name}", pro_catg, exps[0].ins_mode, det.ifu)
    return name


def biases(ctx: NightContext) -> None:
    """Raw biases (the broken one included) and MASTER_BIAS-nn."""
    broken = [e for e in ctx.plan.exposures if e.tag == "BIAS" and e.broken]
    if broken:
        write_raw_frames(ctx, broken)
    good = ctx.plan.of_tag("BIAS")
    recipe = Recipe("muse_bias", [(e.name, "BIAS") for e in good], params=_COMMON_PARAMS)

    def on_ifu(det: IfuDetector, chans: list[np.ndarray]) -> dict:
        master = masters.master_bias(ctx.layout, det, chans)
        _save_master(ctx, det, good, 0, "MASTER_BIAS", recipe, master, "adu")
        return master.summary

    summaries = write_raw_frames(ctx, good, on_ifu)
    ctx.truth.calibrations["master_bias"] = {
        "raw_files": [f"raw/{e.name}" for e in good],
        "measured_ron_e": {str(i + 1): s["ron_e"] for i, s in enumerate(summaries)}}


def darks(ctx: NightContext) -> None:
    """Raw darks and MASTER_DARK-nn (count/pixel/hour)."""
    exps = ctx.plan.of_tag("DARK")
    recipe = Recipe("muse_dark", [(e.name, "DARK") for e in exps], params=_COMMON_PARAMS)

    def on_ifu(det: IfuDetector, chans: list[np.ndarray]) -> dict:
        recipe_ifu = Recipe(recipe.recipe_id, recipe.raws,
                            [(product_name("MASTER_BIAS", det.ifu), "MASTER_BIAS")],
                            params=recipe.params)
        master = masters.master_dark(ctx.layout, det, chans, exps[0].exptime_s)
        _save_master(ctx, det, exps, 1, "MASTER_DARK", recipe_ifu, master, "count")
        return master.summary

    summaries = write_raw_frames(ctx, exps, on_ifu)
    ctx.truth.calibrations["master_dark"] = {
        "raw_files": [f"raw/{e.name}" for e in exps], "unit": "count/pixel/hour",
        "measured": {str(i + 1): s for i, s in enumerate(summaries)}}


def flats(ctx: NightContext) -> None:
    """Per mode: raw lamp flats and MASTER_FLAT-nn[_k] (normalised to its mean)."""
    out = ctx.truth.calibrations.setdefault("master_flat", {})
    for mode in ctx.plan.modes:
        exps, k = ctx.plan.of_tag("FLAT", mode), _mode_k(ctx, mode)

        def on_ifu(det: IfuDetector, chans: list[np.ndarray], exps=exps, k=k) -> dict:
            recipe = Recipe("muse_flat", [(e.name, "FLAT") for e in exps],
                            [(product_name("MASTER_BIAS", det.ifu), "MASTER_BIAS")],
                            params=_COMMON_PARAMS)
            master = masters.master_flat(ctx.layout, det, chans)
            _save_master(ctx, det, exps, 2 + (k or 1), "MASTER_FLAT", recipe, master,
                         "count", k)
            injected = signal_image(exps[0], ctx.layout, det, ctx.plan.faults,
                                    ctx.plan.modes[0])
            rows = slice_qc_rows(ctx.layout)
            return {**master.summary, "injected_slice_level_e": [
                round(float(injected[rows, slice_columns(ctx.layout, j)].mean()), 3)
                for j in range(1, N_SLICE + 1)]}

        summaries = write_raw_frames(ctx, exps, on_ifu)
        out[mode] = {"raw_files": [f"raw/{e.name}" for e in exps],
                     "product_suffix": f"_{k}" if k else "",
                     "note": "injected_slice_level_e: electrons per pixel of one lamp flat, "
                             "mean over the QC rows and the slice's columns, before "
                             "saturation; slice_mean_e: QC FLAT MASTER SLICEj MEAN",
                     "per_ifu": {str(i + 1): s for i, s in enumerate(summaries)}}


def arcs(ctx: NightContext) -> None:
    """Per mode: the raw arc (WAVE) and WAVECAL_TABLE-nn[_k]."""
    out = ctx.truth.calibrations.setdefault("wavecal", {})
    for mode in ctx.plan.modes:
        exps, k = ctx.plan.of_tag("ARC", mode), _mode_k(ctx, mode)

        def on_ifu(det: IfuDetector, chans: list[np.ndarray], exps=exps, k=k,
                   mode=mode) -> dict:
            stream = rng(ctx.plan.seed, "wavecal", ctx.key, mode, det.ifu)
            table, qc, summary = wavecal(ctx.layout, det, chans, stream)
            recipe = Recipe("muse_wavecal", [(e.name, "ARC") for e in exps],
                            [(product_name("MASTER_BIAS", det.ifu), "MASTER_BIAS"),
                             ("line_catalog.fits", "LINE_CATALOG")])
            name = product_name("WAVECAL_TABLE", det.ifu, k)
            primary = _primary(ctx, det, exps[0], name, 8 + (k or 1), "WAVECAL_TABLE",
                               recipe, qc)
            write_table(ctx.night_dir / PRODUCT_DIR / name, primary, table, "WAVECAL_TABLE")
            ctx.record_product(f"{PRODUCT_DIR}/{name}", "WAVECAL_TABLE", mode, det.ifu)
            return summary

        summaries = write_raw_frames(ctx, exps, on_ifu)
        out[mode] = {"raw_files": [f"raw/{e.name}" for e in exps],
                     "product_suffix": f"_{k}" if k else "",
                     "per_ifu": {str(i + 1): s for i, s in enumerate(summaries)}}


def other_calibration_raws(ctx: NightContext) -> None:
    """Raw frames without a simulated product: the sky flat and the standard stars."""
    write_raw_frames(ctx, ctx.plan.of_tag("SKYFLAT") + ctx.plan.of_tag("STD"))
