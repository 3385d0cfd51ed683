"""Why a file was flagged: the metric, value, unit, limits and threshold row behind each flag.

QC stores only the flags (``qc.ifu_status.flags``, ``qc.qa.flags``). The evidence is
derived here, on demand, with QC's own rule (``qcservice.qc.thresholds``: the latest
valid, most specific row per flag) over the file's metrics and ``qc.thresholds``, so the
page says exactly what QC would say, and the automatic verdict a "hand back" restores
is QC's own (``qcservice.qc.evaluate``).
"""

from __future__ import annotations

import datetime as dt

from qcservice.qc.evaluate import Verdict, evaluate
from qcservice.qc.thresholds import LIMITS, Threshold, ThresholdSet
from qcservice.viewer.db import row, rows

_METRICS = """
SELECT m.ifu, m.subunit, m.name, m.value, m.unit FROM qc.metrics m
WHERE m.file_id = :fid ORDER BY m.name, m.ifu NULLS FIRST, m.subunit"""

_THRESHOLDS = """
SELECT metric, flag, valid_from, ins_mode, ifu, subunit, nominal, warn_low, warn_high,
       error_low, error_high, unit, comment, source
FROM qc.thresholds WHERE metric = ANY(:names)"""

_WHEN = """
SELECT coalesce(r.night, p.night) AS night, coalesce(r.ins_mode, p.ins_mode) AS ins_mode
FROM qc.files f LEFT JOIN qc.raw_frames r USING (file_id)
LEFT JOIN qc.products p USING (file_id) WHERE f.file_id = :fid"""


def inputs(file_id: int) -> tuple[list[dict], ThresholdSet, dt.date, str | None]:
    """What the rule reads of a file: its metrics, the thresholds of those metrics, its
    night and mode (read once per page, for :func:`evidence` and :func:`limits_at`)."""
    metrics = rows(_METRICS, fid=file_id)
    names = sorted({m["name"] for m in metrics})
    limits = ThresholdSet([Threshold(**r) for r in rows(_THRESHOLDS, names=names)])
    when = row(_WHEN, fid=file_id) or {}
    return metrics, limits, when.get("night") or dt.date.max, when.get("ins_mode")


def evidence(file_id: int, read: tuple | None = None) -> list[dict]:
    """Every metric value of the file that crosses a limit: ifu (None: whole file),
    subunit, metric, value, unit, flag, level ('warning'/'error'), the limits and the
    threshold row's source file and valid_from. Errors first, then by IFU and metric."""
    metrics, limits, night, mode = read or inputs(file_id)
    found = []
    for m in metrics:
        for t in limits.applicable(m["name"], night, mode, m["ifu"], m["subunit"]):
            level = t.verdict(m["value"])
            if level:
                found.append({**m, "flag": t.flag, "level": level,
                              "unit": m["unit"] or t.unit or "",
                              **{k: getattr(t, k) for k in LIMITS},
                              "source": t.source, "valid_from": t.valid_from})
    found.sort(key=lambda e: (e["level"] != "error", e["ifu"] or 0, e["name"],
                              e["subunit"] or ""))
    return found


def limits_at(file_id: int, read: tuple | None = None) -> dict[str, list[dict]]:
    """Per metric of the file, the limits that apply to it (any IFU), for its plots."""
    metrics, limits, night, mode = read or inputs(file_id)
    return {name: _drawn(limits, name, night, mode)
            for name in sorted({m["name"] for m in metrics})}


def metric_limits(name: str, night: dt.date, mode: str | None) -> list[dict]:
    """The limits of one metric on one night (the master calibration view's plot)."""
    limits = ThresholdSet([Threshold(**r) for r in rows(_THRESHOLDS, names=[name])])
    return _drawn(limits, name, night, mode)


def _drawn(limits: ThresholdSet, name: str, night: dt.date, mode: str | None) -> list[dict]:
    return [{"flag": t.flag, **{k: getattr(t, k) for k in LIMITS}}
            for t in limits.applicable(name, night, mode, None, None)]


def auto_verdict(file_id: int) -> Verdict:
    """QC's automatic verdict of the file, from its metrics as they are now."""
    metrics, limits, night, mode = inputs(file_id)
    return evaluate([(m["ifu"], m["subunit"], m["name"], m["value"]) for m in metrics],
                    limits, night, mode)


def limits_text(e: dict) -> str:
    """'warn > 4, error > 5' for an evidence row (the limits its threshold sets)."""
    parts = []
    for level in ("warn", "error"):
        low, high = e.get(f"{level}_low"), e.get(f"{level}_high")
        bounds = [f"< {low:g}" if low is not None else "", f"> {high:g}" if high is not None
                  else ""]
        text = " or ".join(b for b in bounds if b)
        if text:
            parts.append(f"{level} {text}")
    return ", ".join(parts)


def by_ifu(found: list[dict]) -> dict[int, list[dict]]:
    """The evidence of each IFU (for the grid cells)."""
    out: dict[int, list[dict]] = {}
    for e in found:
        if e["ifu"] is not None:
            out.setdefault(e["ifu"], []).append(e)
    return out


def first_metric(found: list[dict]) -> str | None:
    """The per-IFU metric a page opens on: the one that raised the worst flag."""
    return next((e["name"] for e in found if e["ifu"] is not None), None)
