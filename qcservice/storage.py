"""Storage accounting: the volume the catalogue holds per category, night, programme and
year, and its growth against the plan of the design notes (16 TB of final products and
100 TB of working space over three years).

Sizes are the catalogued ``qc.files.size_bytes`` (what ingest measured), so the totals are
exactly their sum. Final products are the files consortium members download (cubes,
images, spectra); everything else (raw frames, master calibrations, pixel tables,
intermediate products) is working space. Ancillary data are counted apart: the plan does
not include them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from sqlalchemy import Connection, text

from qcservice.vocabulary import FINAL_CATEGORIES

PLAN_YEARS = 3
PLAN_BYTES = {"final": 16 * 10**12, "working": 100 * 10**12}
YEAR_DAYS = 365.25
DIMENSIONS = ("category", "night", "programme", "year")

_VOLUMES = """
SELECT CASE WHEN p.pro_catg = ANY(:final) THEN 'final' ELSE 'working' END AS klass,
       COALESCE(p.pro_catg, 'raw ' || COALESCE(r.dpr_type, r.dpr_catg), f.kind) AS category,
       COALESCE(r.night, p.night) AS night,
       COALESCE(NULLIF(COALESCE(r.prog_id, p.prog_id), ''), '(none)') AS programme,
       count(*) AS n, sum(f.size_bytes) AS size
FROM qc.files f
LEFT JOIN qc.raw_frames r USING (file_id) LEFT JOIN qc.products p USING (file_id)
WHERE (CAST(:project AS text) IS NULL
       OR f.project_id = (SELECT project_id FROM qc.projects WHERE name = :project))
  AND (CAST(:mode AS text) IS NULL OR COALESCE(r.ins_mode, p.ins_mode) = :mode)
GROUP BY 1, 2, 3, 4"""


@dataclass
class Volume:
    """Files and bytes, split into final products and working space."""

    files: int = 0
    size: int = 0
    final: int = 0
    working: int = 0

    def add(self, klass: str, n: int, size: int) -> None:
        self.files += n
        self.size += size
        if klass == "final":
            self.final += size
        else:
            self.working += size


@dataclass
class Growth:
    """Where the volume stands against the plan, as of a date."""

    start: dt.date
    as_of: dt.date
    elapsed: float                        # fraction of the plan's three years
    planned: dict[str, float]             # bytes the plan foresees by now, per class
    actual: dict[str, int]
    projected: dict[str, float | None]    # bytes after three years at the rate so far


@dataclass
class StorageReport:
    """The whole report: totals, the four breakdowns, growth, ancillary data."""

    project: str | None
    total: Volume
    by: dict[str, dict[str, Volume]]
    growth: Growth | None
    ancillary: Volume = field(default_factory=Volume)
    mode: str | None = None               # the instrument mode counted (None: every one)

    def as_dict(self) -> dict:
        out = asdict(self)
        if self.growth is not None:
            out["growth"]["start"] = self.growth.start.isoformat()
            out["growth"]["as_of"] = self.growth.as_of.isoformat()
        out["plan"] = {"years": PLAN_YEARS, **PLAN_BYTES}
        return out


def growth(actual: Volume, start: dt.date, as_of: dt.date) -> Growth:
    """The plan's linear growth from ``start`` against what was catalogued by ``as_of``."""
    days = max((as_of - start).days, 1)
    elapsed = days / (PLAN_YEARS * YEAR_DAYS)
    have = {"final": actual.final, "working": actual.working}
    return Growth(start, as_of, elapsed,
                  planned={k: v * min(elapsed, 1.0) for k, v in PLAN_BYTES.items()},
                  actual=have,
                  projected={k: have[k] / elapsed for k in have})


def storage_report(conn: Connection, project: str | None = None,
                   start: dt.date | None = None, as_of: dt.date | None = None, *,
                   mode: str | None = None) -> StorageReport:
    """The report over ``project`` (None: every project) and instrument ``mode`` (None:
    every mode; a mode leaves out the files that have none). The plan starts at ``start``
    (default: the first night catalogued) and is read as of ``as_of`` (default: today)."""
    total = Volume()
    by: dict[str, dict[str, Volume]] = {d: defaultdict(Volume) for d in DIMENSIONS}
    first: dt.date | None = None
    for r in conn.execute(text(_VOLUMES), {"final": list(FINAL_CATEGORIES),
                                           "project": project, "mode": mode}):
        size = int(r.size)
        total.add(r.klass, r.n, size)
        keys = {"category": f"{r.klass} {r.category}", "programme": r.programme,
                "night": r.night.isoformat() if r.night else "(no night)",
                "year": str(r.night.year) if r.night else "(no night)"}
        for dim, key in keys.items():
            by[dim][key].add(r.klass, r.n, size)
        if r.night is not None and (first is None or r.night < first):
            first = r.night
    start = start or first
    report = StorageReport(project, total, {d: dict(sorted(v.items())) for d, v in by.items()},
                           growth(total, start, as_of or dt.date.today()) if start else None,
                           mode=mode)
    anc = conn.execute(text("SELECT count(*), COALESCE(sum(size_bytes), 0) FROM qc.ancillary"))
    n, size = anc.one()
    report.ancillary.add("working", int(n), int(size))
    return report


def yearly_share(size: int, klass: str) -> float:
    """``size`` as a fraction of one year of the plan for ``klass`` (final, working)."""
    return size / (PLAN_BYTES[klass] / PLAN_YEARS)


def human(size: float | None) -> str:
    """Decimal units, as the plan is written: 16 TB is 16e12 bytes."""
    if size is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(size) < 1000 or unit == "PB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.2f} {unit}"
        size /= 1000
    return f"{size:.2f} PB"


def format_report(report: StorageReport, dimensions: tuple[str, ...] = DIMENSIONS) -> str:
    """The report as text, one table per breakdown asked for."""
    t = report.total
    lines = [f"Catalogued files{' of ' + report.project if report.project else ''}: "
             f"{t.files} files, {human(t.size)} (final products {human(t.final)}, "
             f"working space {human(t.working)}); total {t.size} bytes"]
    g = report.growth
    if g is not None:
        when = (f"{g.elapsed:.0%} of the time" if g.elapsed < 1
                else f"the {PLAN_YEARS} years are over")
        lines.append(f"Plan: {human(PLAN_BYTES['final'])} of final products and "
                     f"{human(PLAN_BYTES['working'])} of working space over {PLAN_YEARS} "
                     f"years from {g.start}, {human(PLAN_BYTES['final'] / PLAN_YEARS)} and "
                     f"{human(PLAN_BYTES['working'] / PLAN_YEARS)} a year; as of {g.as_of} "
                     f"({when}):")
        for k in PLAN_BYTES:
            share = g.actual[k] / g.planned[k] if g.planned[k] else 0.0
            lines.append(f"  {k:<8} {human(g.actual[k]):>10} of {human(g.planned[k]):>10} "
                         f"planned by now ({share:.1%}); at this rate "
                         f"{human(g.projected[k])} after {PLAN_YEARS} years "
                         f"(plan {human(PLAN_BYTES[k])})")
    for dim in dimensions:
        lines.append(f"\nBy {dim}:")
        plan = "   (share of a year's plan: final, working)" if dim == "year" else ""
        lines.append(f"  {dim:<34} {'files':>8} {'size':>11} {'final':>11} {'working':>11}"
                     + plan)
        for key, v in report.by[dim].items():
            final, working = yearly_share(v.final, "final"), yearly_share(v.working, "working")
            share = f"   {final:6.1%} {working:6.1%}" if dim == "year" else ""
            lines.append(f"  {key:<34} {v.files:>8} {human(v.size):>11} {human(v.final):>11} "
                         f"{human(v.working):>11}" + share)
    a = report.ancillary
    lines.append(f"\nAncillary data (outside the plan): {a.files} files, {human(a.size)}")
    return "\n".join(lines)
