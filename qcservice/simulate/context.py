"""What every step of a night's simulation shares: plan, detectors, truth, output folder.

Raw frames are written IFU by IFU: each raw file is planned (all offsets known), then
a pool of threads makes the 24 CHANs -- every (exposure, IFU) pair from its own random
stream -- and writes each at its offset. A step that needs the pixels of several raw
frames of one IFU at once (masters) gets them in ``on_ifu`` right after they are made,
so master calibrations are computed from exactly the bytes on disk.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qcservice.simulate import detector, headers
from qcservice.simulate.cube import CubeModel
from qcservice.simulate.detector import IfuDetector
from qcservice.simulate.fitswrite import ImageSpec, PlannedFits
from qcservice.simulate.layout import CcdLayout
from qcservice.simulate.schedule import Exposure, NightPlan
from qcservice.simulate.seeding import bitgen
from qcservice.simulate.signals import signal_image
from qcservice.simulate.truth import FileRecord, NightTruth

RAW_DIR = "raw"


@dataclass
class NightContext:
    """Shared state of one night being written."""

    plan: NightPlan
    detectors: list[IfuDetector]
    truth: NightTruth
    workers: int
    _chan_specs: list[ImageSpec] = field(default_factory=list, repr=False)
    _scenes: dict[int, CubeModel] = field(default_factory=dict, repr=False)

    @property
    def layout(self) -> CcdLayout:
        return self.plan.scale.layout

    @property
    def night_dir(self) -> Path:
        return self.truth.directory

    @property
    def key(self) -> int:
        """The night as an integer, for seeding."""
        return self.plan.night.toordinal()

    def scene(self, exp: Exposure) -> CubeModel | None:
        """The model of the science OB ``exp`` belongs to (the one its cube is written
        from: same random stream), ``None`` for other exposures."""
        from qcservice.simulate.scene import build_model
        from qcservice.simulate.science import science_stream

        ob = next((o for o in self.plan.science if exp in o.exposures), None)
        if ob is None:
            return None
        if ob.k not in self._scenes:
            self._scenes[ob.k] = build_model(ob, self.plan.scale, science_stream(self, ob,
                                                                                 "scene"))
        return self._scenes[ob.k]

    def created(self, step: int, ifu: int = 0) -> dt.datetime:
        """Deterministic product creation time: the next day, 13:00 UT onwards."""
        base = dt.datetime.combine(self.plan.night + dt.timedelta(days=1), dt.time(13))
        return base + dt.timedelta(minutes=5 * step, seconds=7 * ifu)

    def raw_path(self, exp: Exposure) -> Path:
        return self.night_dir / RAW_DIR / exp.name

    def record_product(self, relpath: str, pro_catg: str, ins_mode: str,
                       ifu: int | None = None) -> None:
        self.truth.add_file(relpath, FileRecord(
            "product", self.plan.night.isoformat(), ins_mode, pro_catg=pro_catg, ifu=ifu))

    def record_raw(self, exp: Exposure) -> None:
        catg, typ, tech = exp.dpr
        self.truth.add_file(f"{RAW_DIR}/{exp.name}", FileRecord(
            "raw", self.plan.night.isoformat(), exp.ins_mode, dpr_catg=catg, dpr_type=typ,
            dpr_tech=tech, broken=exp.broken))

    def chan_specs(self) -> list[ImageSpec]:
        """The 24 raw CHAN extensions: the same headers in every raw frame of the night."""
        if not self._chan_specs:
            layout = self.layout
            self._chan_specs = [ImageSpec(headers.chip_cards(layout, det),
                                          (layout.chan_ny, layout.chan_nx), ">i2")
                                for det in self.detectors]
        return self._chan_specs

    def map_ifus(self, task: Callable[[IfuDetector], object]) -> list:
        """Run ``task`` for the 24 IFUs on the thread pool; results in IFU order."""
        if self.workers <= 1:
            return [task(det) for det in self.detectors]
        with ThreadPoolExecutor(self.workers) as pool:
            return list(pool.map(task, self.detectors))


def raw_specs(ctx: NightContext, exp: Exposure) -> list[ImageSpec]:
    """Primary header plus 24 CHAN extensions of a raw frame."""
    return [ImageSpec(headers.raw_primary_cards(exp, ctx.plan.night)), *ctx.chan_specs()]


def make_chan(ctx: NightContext, exp: Exposure, det: IfuDetector) -> np.ndarray:
    """The disk pixels of one CHAN of ``exp`` (its own random stream)."""
    gen = bitgen(ctx.plan.seed, "raw", ctx.key, exp.seq, det.ifu)
    if exp.tag == "BIAS":
        return detector.bias_chan(ctx.layout, det, gen, ctx.plan.faults.ron_factor(det.ifu))
    signal = signal_image(exp, ctx.layout, det, ctx.plan.faults, ctx.plan.modes[0],
                          ctx.scene(exp) if exp.tag == "OBJECT" else None)
    return detector.exposed_chan(ctx.layout, det, signal, gen)


def write_raw_frames(ctx: NightContext, exposures: Sequence[Exposure],
                     on_ifu: Callable[[IfuDetector, list[np.ndarray]], object] | None = None
                     ) -> list:
    """Write ``exposures`` as raw files; ``on_ifu(det, chans)`` sees each IFU's pixels.

    Returns the ``on_ifu`` results in IFU order (empty without ``on_ifu``).
    """
    with ExitStack() as stack:
        files = [stack.enter_context(PlannedFits(ctx.raw_path(e), raw_specs(ctx, e)))
                 for e in exposures]

        def task(det: IfuDetector) -> object:
            chans = []
            for exp, out in zip(exposures, files, strict=True):
                chan = make_chan(ctx, exp, det)
                out.write(det.ifu, chan)
                chans.append(chan)
            return on_ifu(det, chans) if on_ifu else None

        results = ctx.map_ifus(task)
    for exp in exposures:
        ctx.record_raw(exp)
    return results if on_ifu else []


def default_workers() -> int:
    """Threads for per-IFU work: the cores we may use, at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))
