"""Association: which recipe runs a night needs, each with its raw frames and calibrations.

Frames are classified by the pipeline's own OCA rules (:mod:`qcservice.reduce.oca`).
The cascade is walked in order; each step's products are *planned* frames (headers
inherited from the first raw input, ``DO.CATG`` = their PRO.CATG) so that the next
step can select them before they exist. Calibrations are per IFU; a selection takes
the candidates of the same IFU (or IFU-less static calibrations) that satisfy the
action's ``where`` clause, closest in time to the first raw input, as ESO's
association does. A required calibration that nobody can supply makes the run
``blocked`` with a message naming it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field

from qcservice.reduce.oca import Rules, lookup

# The cascade: OCA action, the recipe's products, and how its input frames group into
# one run ("template": the raw frames of one template execution, per IFU; "frame": one
# raw exposure, per IFU; "exposure": every IFU's product of one exposure, one run, as
# muse.oca's "group by TPL.EXPNO"; "ob": the products of all exposures of a template,
# one run when there are several).
CASCADE: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("muse_bias", ("MASTER_BIAS",), "template"),
    ("muse_dark", ("MASTER_DARK",), "template"),
    ("muse_flat", ("MASTER_FLAT", "TRACE_TABLE"), "template"),
    ("muse_wave", ("WAVECAL_TABLE",), "template"),
    ("muse_scibasic", ("PIXTABLE_OBJECT",), "frame"),
    ("muse_scipost", ("DATACUBE_FINAL", "PIXTABLE_REDUCED"), "exposure"),
    ("muse_exp_combine", ("DATACUBE_FINAL",), "ob"),
)
# Options beyond muse.oca's, replacing its option of the same name: scipost also saves
# the reduced pixel table the combination reads, and subtracts the sky. ESO's on-line
# rules say --skymethod=none; "simple" (a sky spectrum from the darkest 10 % of the
# field, subtracted from every pixel) needs no SKY_LINES/LSF_PROFILE, which Debian
# does not ship and muse.oca never selects (maxRet = 0).
EXTRA_PARAMS = {"muse_scipost": ["--save=cube,individual", "--skymethod=simple"]}
STEPS = tuple(a for a, _, _ in CASCADE)


@dataclass
class Frame:
    """A file (or a planned product) as the association sees it."""

    path: str
    header: dict                # primary header plus the OCA keys (DO.CATG, ...)
    ifu: int | None = None      # per-IFU products; raw frames hold all 24
    file_id: int | None = None
    planned_by: str | None = None   # run_key of the run that will write it

    @property
    def catg(self) -> str | None:
        return self.header.get("DO.CATG")

    @property
    def mjd(self) -> float:
        return float(self.header.get("MJD-OBS") or 0.0)


@dataclass
class RunSpec:
    """One recipe run: everything a worker needs (no database access)."""

    run_key: str
    action: str
    recipe: str
    night: dt.date
    ifu: int | None
    ins_mode: str | None
    inputs: list[tuple[str, str]]        # (path, SOF tag)
    products: list[str]                  # PRO.CATG of the expected outputs
    workdir: str
    params: list[str] = field(default_factory=list)
    depends: list[str] = field(default_factory=list)   # run_keys of planned inputs
    blocked: str | None = None
    timeout_s: float = 600.0   # a recipe that hangs (muse_wavecal can) is killed then
    stamps: list[str | None] = field(default_factory=list)   # checksums of the inputs

    def digest(self) -> str:
        """Changes when the inputs (or their contents), parameters or recipe change."""
        blob = json.dumps([self.recipe, self.inputs, self.stamps, self.params, self.ifu])
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _group_key(frame: Frame, how: str) -> str:
    if how == "exposure":   # planned products carry their exposure's primary header
        return str(frame.header.get("DATE-OBS"))
    if how == "frame":
        return frame.path.rsplit("/", 1)[-1].removesuffix(".fits")
    obs, tpl = lookup(frame.header, "OBS.ID"), lookup(frame.header, "TPL.ID")
    return f"{tpl}-{int(obs) if isinstance(obs, float) else obs}"


def _select(rules: Rules, action: str, first: Frame, ifu: int | None,
            calibs: list[Frame]) -> tuple[list[Frame], str | None]:
    """The calibrations of one run, or the reason it cannot run."""
    chosen: list[Frame] = []
    for sel in rules.selections.get(action, []):
        if not sel.used:
            continue
        matches = [c for c in calibs if c.catg == sel.tag and c.ifu in (ifu, None)
                   and sel.where.evaluate(c.header, first.header)]
        matches.sort(key=lambda c: (abs(c.mjd - first.mjd), c.path))
        take = matches[:max(sel.max_ret, sel.min_ret)]
        if len(take) < sel.min_ret:
            return [], f"no {sel.tag} for {first.path.rsplit('/', 1)[-1]} (IFU {ifu})"
        chosen += take
    return chosen, None


def _ifu_set(ifus: list[int]) -> str:
    """The name of a run over several IFUs: a cube of IFUs 1 and 2 is not one of all."""
    return "all" if len(set(ifus)) == 24 else "IFU" + "+".join(f"{i:02d}" for i in sorted(ifus))


def _planned(spec: RunSpec, first: Frame, catg: str, ifu: int | None) -> Frame:
    header = {k: v for k, v in first.header.items() if not k.startswith(("DO.", "_"))}
    header.update({"ESO PRO CATG": catg, "DO.CATG": catg})
    return Frame(f"{spec.workdir}/{product_name(catg, ifu)}", header, ifu, None,
                 spec.run_key)


def recipe_params(rules: Rules, action: str) -> list[str]:
    """The OCA rules' options of ``action``, those of :data:`EXTRA_PARAMS` replacing
    the ones of the same name (esorex would otherwise get both)."""
    extra = EXTRA_PARAMS.get(action, [])
    names = {o.split("=", 1)[0] for o in extra}
    return [o for o in rules.params.get(action, []) if o.split("=", 1)[0] not in names] + extra


def product_name(catg: str, ifu: int | None) -> str:
    """The file name the recipe gives a product of one IFU (``--nifu=N``)."""
    stem = f"{catg}_0001" if catg.startswith("PIXTABLE_") else catg
    return f"{stem}-{ifu:02d}.fits" if ifu else f"{stem}.fits"


def plan_night(rules: Rules, night: dt.date, raws: list[Frame], calibs: list[Frame],
               ifus: list[int], work_root: str, steps: tuple[str, ...] = STEPS,
               timeout_s: float = 600.0) -> list[RunSpec]:
    """The night's recipe runs in cascade order (dependencies before dependants)."""
    raws = [r for r in raws if r.catg]
    calibs = list(calibs)
    specs: list[RunSpec] = []
    for action, products, how in CASCADE:
        if action not in steps:
            continue
        groups: dict[str, list[Frame]] = defaultdict(list)
        for r in (calibs if how in ("exposure", "ob") else raws):
            if rules.triggers.get(r.catg) == action and r.catg != "STD":
                groups[_group_key(r, how)].append(r)
        made: list[Frame] = []
        for gkey, frames in sorted(groups.items()):
            frames.sort(key=lambda f: (f.mjd, f.ifu or 0, f.path))
            if how == "ob" and len(frames) < 2:
                continue   # one exposure: its own cube is the OB's
            for ifu in ([None] if how in ("exposure", "ob") else ifus):
                key = f"{night.isoformat()}/{action}/{gkey}/" + \
                    (f"IFU{ifu:02d}" if ifu else _ifu_set(ifus))
                chosen, why = _select(rules, action, frames[0], ifu, calibs)
                spec = RunSpec(key, action, rules.recipes[action], night, ifu,
                               frames[0].header.get("ESO INS MODE"),
                               [(f.path, f.catg) for f in frames]
                               + [(c.path, c.catg) for c in chosen], list(products),
                               f"{work_root}/{key}",
                               recipe_params(rules, action),
                               blocked=why, timeout_s=timeout_s,
                               depends=sorted({c.planned_by for c in frames + chosen
                                               if c.planned_by}),
                               stamps=[f.header.get("_stamp") for f in frames + chosen])
                specs.append(spec)
                made += [_planned(spec, frames[0], p, ifu) for p in products]
        calibs += made
    return specs


def blocked_by_failures(spec: RunSpec, failed: dict[str, str]) -> str | None:
    """Why ``spec`` cannot run because a run it depends on failed or was blocked."""
    for dep in spec.depends:
        if dep in failed:
            return f"needs the products of {dep}, which {failed[dep]}"
    return None
