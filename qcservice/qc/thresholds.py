"""Thresholds as dated data: TOML files -> qc.thresholds -> per-metric verdicts.

A threshold file (``qcservice/qc/thresholds/*.toml`` ships the defaults) has a
``valid_from`` night and ``[[threshold]]`` rows. For a metric value of a file observed on
night N in mode M, the row that applies is, among the rows of that metric and flag whose
mode, IFU and sub-unit match (or are unset), the one with the latest valid_from <= N,
the most specific first. Crossing a warning limit raises the flag; crossing an error
limit raises it as an error, which makes the IFU (or, for a whole-field metric, the
product) invalid.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql import insert

from qcservice.db.schema import Tables
from qcservice.errors import MusedcError

LIMITS = ("nominal", "warn_low", "warn_high", "error_low", "error_high")
_KEYS = {"metric", "flag", "ins_mode", "ifu", "subunit", "unit", "comment", *LIMITS}


class ThresholdError(MusedcError, ValueError):
    """A threshold file is malformed."""


@dataclass(frozen=True)
class Threshold:
    metric: str
    flag: str
    valid_from: dt.date
    ins_mode: str | None = None
    ifu: int | None = None
    subunit: str | None = None
    nominal: float | None = None
    warn_low: float | None = None
    warn_high: float | None = None
    error_low: float | None = None
    error_high: float | None = None
    unit: str | None = None
    comment: str = ""
    source: str = ""

    def specificity(self) -> int:
        return (self.ifu is not None) * 4 + (self.ins_mode is not None) * 2 + \
            (self.subunit is not None)

    def applies(self, ins_mode: str | None, ifu: int | None, subunit: str | None) -> bool:
        return ((self.ins_mode is None or self.ins_mode == ins_mode)
                and (self.ifu is None or self.ifu == ifu)
                and (self.subunit is None or self.subunit == subunit))

    def verdict(self, value: float | None) -> str | None:
        """'error', 'warning' or None for ``value``."""
        if value is None:
            return None
        if (self.error_low is not None and value < self.error_low) or \
                (self.error_high is not None and value > self.error_high):
            return "error"
        if (self.warn_low is not None and value < self.warn_low) or \
                (self.warn_high is not None and value > self.warn_high):
            return "warning"
        return None


def default_files() -> list[Path]:
    folder = resources.files("qcservice.qc") / "thresholds"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".toml"))


def read_file(path: Path) -> list[Threshold]:
    """The thresholds of one TOML file; a malformed file raises naming the row."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ThresholdError(f"{path}: {exc}") from exc
    try:
        valid_from = dt.date.fromisoformat(str(data["valid_from"]))
    except (KeyError, ValueError) as exc:
        raise ThresholdError(f"{path}: needs valid_from = \"YYYY-MM-DD\"") from exc
    if not str(data.get("calibrated_on", "")).strip():   # a limit means nothing without it
        raise ThresholdError(f"{path}: needs calibrated_on = \"...\": the data its limits "
                             "were set on")
    rows = []
    for i, row in enumerate(data.get("threshold", []), 1):
        unknown = set(row) - _KEYS
        if unknown or "metric" not in row or "flag" not in row:
            raise ThresholdError(f"{path}: threshold {i} needs metric and flag and knows "
                                 f"only {sorted(_KEYS)} (unknown: {sorted(unknown)})")
        try:
            limits = {k: float(row[k]) for k in LIMITS if k in row}
        except (TypeError, ValueError) as exc:
            raise ThresholdError(f"{path}: threshold {i}: limits must be numbers") from exc
        rows.append(Threshold(metric=row["metric"], flag=row["flag"], valid_from=valid_from,
                              ins_mode=row.get("ins_mode"), ifu=row.get("ifu"),
                              subunit=row.get("subunit"), unit=row.get("unit"),
                              comment=row.get("comment", ""), source=Path(path).name,
                              **limits))
    return rows


def sync(conn: Connection, t: Tables, files: Iterable[Path] | None = None) -> int:
    """Insert or update the rows of the threshold files in qc.thresholds; returns rows."""
    rows = [r for f in (default_files() if files is None else files) for r in read_file(f)]
    # one sync at a time (two QC runs starting together would both insert a new row)
    conn.execute(text("SELECT pg_advisory_xact_lock(7007, -1)"))
    for r in rows:
        values = {k: getattr(r, k) for k in ("metric", "flag", "valid_from", "ins_mode",
                                              "ifu", "subunit", "unit", "comment", "source",
                                              *LIMITS)}
        existing = conn.execute(text(
            "SELECT threshold_id FROM qc.thresholds WHERE metric = :metric AND flag = :flag "
            "AND valid_from = :valid_from AND ins_mode IS NOT DISTINCT FROM :ins_mode "
            "AND ifu IS NOT DISTINCT FROM :ifu AND subunit IS NOT DISTINCT FROM :subunit"),
            values).scalar()
        if existing is None:
            conn.execute(insert(t.thresholds).values(**values))
        else:
            conn.execute(t.thresholds.update().where(t.thresholds.c.threshold_id == existing)
                         .values(**values))
    return len(rows)


def load(conn: Connection) -> list[Threshold]:
    rows = conn.execute(text("SELECT metric, flag, valid_from, ins_mode, ifu, subunit, "
                             "nominal, warn_low, warn_high, error_low, error_high, unit, "
                             "comment, source FROM qc.thresholds")).mappings()
    return [Threshold(**r) for r in rows]


class ThresholdSet:
    """Thresholds indexed by metric, answering 'which row applies' quickly."""

    def __init__(self, rows: list[Threshold]) -> None:
        self.by_metric: dict[str, list[Threshold]] = {}
        for r in sorted(rows, key=lambda r: (r.valid_from, r.specificity()), reverse=True):
            self.by_metric.setdefault(r.metric, []).append(r)

    def applicable(self, metric: str, night: dt.date, ins_mode: str | None, ifu: int | None,
                   subunit: str | None) -> list[Threshold]:
        """One row per flag: the latest valid, most specific matching row."""
        chosen: dict[str, Threshold] = {}
        candidates = [r for r in self.by_metric.get(metric, ())
                      if r.valid_from <= night and r.applies(ins_mode, ifu, subunit)]
        for r in sorted(candidates, key=lambda r: (r.valid_from, r.specificity()),
                        reverse=True):
            chosen.setdefault(r.flag, r)
        return list(chosen.values())
