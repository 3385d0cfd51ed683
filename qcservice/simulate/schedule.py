"""The plan of one simulated night: which exposures, when, in which mode, of what.

Timeline (UT) of night D, chosen so that both ways of getting the night from DATE-OBS
(same UT date, or next UT date minus 12 h) occur:

* D 18:00 (afternoon): per mode, lamp flats then one arc (WAVE);
* D 23:35 (evening twilight): one sky flat;
* D+1 00:10: per mode, one standard star (STD);
* D+1 00:45 to 09:30: per mode, the science OBs (OBJECT exposures), after midnight UT;
* D+1 09:40 (morning): biases (the broken one first), then darks, all before 12:00 UT.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from qcservice.simulate import observing
from qcservice.simulate.arclamps import LAMPS
from qcservice.simulate.faults import BROKEN_REASON, Faults
from qcservice.simulate.layout import Scale

_PIS = {"WFM-NOAO-N": "Leclerc", "WFM-NOAO-E": "Anders", "WFM-AO-N": "Okafor",
        "WFM-AO-E": "Moreno", "NFM-AO-N": "Tanaka"}
_OB_GAP_S = 300.0
_OBSERVERS = ("Ibarra", "Svensson", "Nakamura", "Duarte")
# tag -> (DPR CATG, DPR TYPE, DPR TECH, OBJECT of calibrations, template name)
_DPR = {
    "BIAS": ("CALIB", "BIAS", "IFU", "BIAS", "gen_cal_bias"),
    "DARK": ("CALIB", "DARK", "IFU", "DARK", "gen_cal_dark"),
    "FLAT": ("CALIB", "FLAT,LAMP", "IFU", "FLAT,LAMP", "cal_specflat"),
    "ARC": ("CALIB", "WAVE", "IFU", "WAVE", "cal_wave"),
    "SKYFLAT": ("CALIB", "FLAT,SKY", "IFU", "FLAT,SKY", "cal_skyflat"),
    "STD": ("CALIB", "STD", "IFU", None, "obs_std"),
    "OBJECT": ("SCIENCE", "OBJECT", "IFU", None, "obs_genericoffset"),
}


@dataclass(frozen=True)
class ObsBlock:
    """An observation block: programme, target and pointing shared by its exposures."""

    ob_id: int
    name: str
    prog_id: str
    targ_name: str
    ra_deg: float
    dec_deg: float
    posang_deg: float
    pi_coi: str
    observer: str
    science: bool


@dataclass(frozen=True)
class Exposure:
    """One raw frame of the night."""

    seq: int
    tag: str  # pipeline tag: BIAS DARK FLAT ARC SKYFLAT STD OBJECT
    ins_mode: str
    start: dt.datetime
    exptime_s: float
    ob: ObsBlock
    expno: int
    nexp: int
    airmass: tuple[float, float]
    seeing_arcsec: tuple[float, float]
    broken: str | None = None

    @property
    def dpr(self) -> tuple[str, str, str]:
        catg, typ, tech, _, _ = _DPR[self.tag]
        return catg, typ, tech

    @property
    def object_name(self) -> str:
        return _DPR[self.tag][3] or self.ob.targ_name

    @property
    def tpl_id(self) -> str:
        name = _DPR[self.tag][4]
        if name.startswith("gen_"):  # as at the telescope: MUSE_gen_cal_bias,
            return f"MUSE_{name}"     # MUSE_wfm_cal_specflat (muse.oca matches these)
        family = self.ins_mode.rsplit("-", 1)[0].lower()  # wfm-noao, wfm-ao, nfm-ao
        if name.startswith("cal_"):
            family = family.split("-")[0]
        return f"MUSE_{family}_{name}"

    @property
    def date_obs(self) -> str:
        return self.start.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.start.microsecond // 1000:03d}"

    @property
    def name(self) -> str:
        """The ESO archive file name, MUSE.<DATE-OBS>.fits."""
        return f"MUSE.{self.date_obs}.fits"


@dataclass
class ScienceOB:
    """One science OB of the night; it gives one DATACUBE_FINAL (index ``k``, 1-based)."""

    k: int
    ins_mode: str
    ob: ObsBlock
    exposures: list[Exposure]
    bad_sky: bool


@dataclass
class NightPlan:
    """Everything the night will contain, before any pixel is made."""

    night: dt.date
    scale: Scale
    modes: tuple[str, ...]
    seed: int
    faults: Faults
    exposures: list[Exposure] = field(default_factory=list)
    science: list[ScienceOB] = field(default_factory=list)

    def of_tag(self, tag: str, ins_mode: str | None = None) -> list[Exposure]:
        """The night's good (unbroken) exposures of one tag, optionally of one mode."""
        return [e for e in self.exposures if e.tag == tag and e.broken is None
                and (ins_mode is None or e.ins_mode == ins_mode)]


class _Planner:
    """Builds a :class:`NightPlan` exposure by exposure, keeping the clock and ids."""

    def __init__(self, plan: NightPlan, rng: np.random.Generator) -> None:
        self.plan = plan
        self.rng = rng
        self.seeing = float(np.exp(rng.normal(np.log(0.8), 0.25)))
        self.observer = _OBSERVERS[int(rng.integers(len(_OBSERVERS)))]
        self.next_ob = 1_000_000 + int(rng.integers(0, 8_000_000))

    def ob(self, name: str, prog: str, targ: str, ra: float, dec: float,
           posang: float = 0.0, pi: str = "UNKNOWN", science: bool = False) -> ObsBlock:
        self.next_ob += int(self.rng.integers(1, 40))
        return ObsBlock(self.next_ob, name, prog, targ, round(ra, 6), round(dec, 6),
                        posang, pi, self.observer, science)

    def calib_ob(self, name: str, when: dt.datetime) -> ObsBlock:
        zenith_ra = observing.lst_hours(when) * 15.0
        return self.ob(name, observing.CALIB_PROG_ID, name, zenith_ra,
                       observing.PARANAL_LAT_DEG)

    def expose(self, tag: str, mode: str, start: dt.datetime, exptime: float, ob: ObsBlock,
               expno: int = 1, nexp: int = 1, broken: str | None = None) -> Exposure:
        start = start.replace(microsecond=int(self.rng.integers(0, 1000)) * 1000)
        end = start + dt.timedelta(seconds=exptime)
        if ob.science or tag in ("STD", "SKYFLAT"):
            air = (observing.airmass(ob.ra_deg, ob.dec_deg, start),
                   observing.airmass(ob.ra_deg, ob.dec_deg, end))
        else:
            air = (1.0, 1.0)
        fwhm = tuple(round(self.seeing * float(np.exp(self.rng.normal(0, 0.08))), 2)
                     for _ in range(2))
        exp = Exposure(len(self.plan.exposures), tag, mode, start, exptime, ob, expno, nexp,
                       air, fwhm, broken)
        self.plan.exposures.append(exp)
        return exp


def _afternoon(p: _Planner, night: dt.datetime) -> None:
    t = night + dt.timedelta(hours=18)
    for mode in p.plan.modes:
        ob = p.calib_ob("FLAT,LAMP", t)
        for i in range(p.plan.scale.n_flat):
            p.expose("FLAT", mode, t, 15.0, ob, i + 1, p.plan.scale.n_flat)
            t += dt.timedelta(seconds=75)
        p.expose("ARC", mode, t, 60.0, p.calib_ob("WAVE", t), 1, len(LAMPS))
        t += dt.timedelta(minutes=4)
    sky_t = night + dt.timedelta(hours=23, minutes=35)
    p.expose("SKYFLAT", p.plan.modes[0], sky_t, 30.0, p.calib_ob("FLAT,SKY", sky_t))


def _standards(p: _Planner, night: dt.datetime) -> None:
    t = night + dt.timedelta(hours=24, minutes=10)
    for mode in p.plan.modes:
        name, ra, dec = observing.best_standard(t)
        ob = p.ob(f"STD-{name}", observing.CALIB_PROG_ID, name, ra, dec)
        p.expose("STD", mode, t, 60.0, ob)
        t += dt.timedelta(minutes=6)


def _science(p: _Planner, night: dt.datetime) -> None:
    plan, scale = p.plan, p.plan.scale
    t = night + dt.timedelta(hours=24, minutes=45)
    # Exposures shrink when many modes must fit between 00:45 and 09:30 UT.
    window_s = (8 * 60 + 45) * 60.0
    n_obs = len(plan.modes) * scale.n_ob_per_mode
    longest = (window_s / n_obs - _OB_GAP_S) / scale.n_exp_per_ob - 60.0
    for mode in plan.modes:
        exptime = float(min(600.0 if mode.startswith("NFM") else 900.0, int(longest)))
        for _ in range(scale.n_ob_per_mode):
            k = len(plan.science) + 1
            ob_hours = scale.n_exp_per_ob * (exptime + 60.0) / 3600.0
            ra = observing.transiting_ra(t, ob_hours / 2 + float(p.rng.uniform(-1.5, 1.5)))
            dec = float(p.rng.uniform(-60.0, 10.0))
            targ = observing.target_name(ra, dec)
            posang = 0.0 if k % 2 else float(p.rng.choice([30.0, 45.0, 90.0, 135.0]))
            ob = p.ob(f"{mode}-{targ}", observing.science_prog_id(plan.night, mode), targ,
                      ra, dec, posang, _PIS[mode], science=True)
            exps = []
            for i in range(scale.n_exp_per_ob):
                exps.append(p.expose("OBJECT", mode, t, exptime, ob, i + 1,
                                     scale.n_exp_per_ob))
                t += dt.timedelta(seconds=exptime + 60.0)
            plan.science.append(ScienceOB(k, mode, ob, exps, k == plan.faults.bad_sky_cube))
            t += dt.timedelta(seconds=_OB_GAP_S)


def _morning(p: _Planner, night: dt.datetime) -> None:
    plan, mode = p.plan, p.plan.modes[0]
    t = night + dt.timedelta(hours=33, minutes=40)
    ob = p.calib_ob("BIAS", t)
    n = plan.scale.n_bias + (1 if plan.faults.broken_header else 0)
    for i in range(n):
        broken = BROKEN_REASON if plan.faults.broken_header and i == 0 else None
        p.expose("BIAS", mode, t, 0.0, ob, i + 1, n, broken)
        t += dt.timedelta(seconds=90)
    t = night + dt.timedelta(hours=34)
    ob = p.calib_ob("DARK", t)
    for i in range(plan.scale.n_dark):
        p.expose("DARK", mode, t, 1800.0, ob, i + 1, plan.scale.n_dark)
        t += dt.timedelta(seconds=1860)


def _more_arc_lamps(p: _Planner, night: dt.datetime) -> None:
    """The arcs of the other lamps (Ne, Xe) right after each mode's first (HgCd): one
    lamp per exposure, as the pipeline wants. Planned last, so that adding them left
    every other exposure's random draws as they were."""
    for first in [e for e in p.plan.exposures if e.tag == "ARC"]:
        for i in range(2, len(LAMPS) + 1):
            p.expose("ARC", first.ins_mode, first.start.replace(microsecond=0)
                     + dt.timedelta(seconds=90 * (i - 1)), 60.0, first.ob, i, len(LAMPS))


def plan_night(night: dt.date, scale: Scale, modes: tuple[str, ...], seed: int,
               faults: bool, rng: np.random.Generator) -> NightPlan:
    """The exposures and science OBs of ``night``, with its faults drawn from ``rng``."""
    n_science = len(modes) * scale.n_ob_per_mode
    chosen = Faults.choose(rng, n_science) if faults else Faults()
    plan = NightPlan(night, scale, modes, seed, chosen)
    planner = _Planner(plan, rng)
    midnight = dt.datetime.combine(night, dt.time())
    for step in (_afternoon, _standards, _science, _morning, _more_arc_lamps):
        step(planner, midnight)
    plan.exposures.sort(key=lambda e: e.start)
    return plan
