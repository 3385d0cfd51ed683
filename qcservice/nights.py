"""What the catalogue holds, one line per night (newest first): ``musedc nights``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Engine, text

_RAW = text("""
    SELECT night, ins_mode, dpr_type AS category, count(*) AS n, sum(exptime) AS exptime,
           avg(dimm_fwhm) AS dimm
    FROM qc.raw_frames WHERE (CAST(:mode AS text) IS NULL OR ins_mode = :mode)
    GROUP BY night, ins_mode, dpr_type""")
_PRODUCTS = text("""
    SELECT night, ins_mode, pro_catg AS category, count(*) AS n
    FROM qc.products WHERE (CAST(:mode AS text) IS NULL OR ins_mode = :mode)
    GROUP BY night, ins_mode, pro_catg""")


@dataclass
class NightCounts:
    """Frames and products of one night, by DPR TYPE and by PRO CATG."""

    night: dt.date
    raw: dict[str, int] = field(default_factory=dict)
    products: dict[str, int] = field(default_factory=dict)
    science_exptime: float = 0.0     # s, OBJECT exposures
    dimm_fwhm: float | None = None   # arcsec, mean over the night's OBJECT exposures


def night_counts(engine: Engine, mode: str | None = None) -> list[NightCounts]:
    """Per-night counts, newest night first; ``mode`` filters on INS MODE."""
    nights: dict[dt.date, NightCounts] = {}
    with engine.connect() as conn:
        for row in conn.execute(_RAW, {"mode": mode}):
            n = nights.setdefault(row.night, NightCounts(row.night))
            n.raw[row.category] = n.raw.get(row.category, 0) + row.n
            if row.category == "OBJECT":
                n.science_exptime += row.exptime or 0.0
                n.dimm_fwhm = row.dimm
        for row in conn.execute(_PRODUCTS, {"mode": mode}):
            n = nights.setdefault(row.night, NightCounts(row.night))
            n.products[row.category] = n.products.get(row.category, 0) + row.n
    return sorted(nights.values(), key=lambda n: n.night, reverse=True)


def format_counts(rows: list[NightCounts]) -> str:
    if not rows:
        return "the catalogue is empty: run 'musedc ingest PATH'"
    lines = []
    for n in rows:
        dimm = f"{n.dimm_fwhm:.2f}\"" if n.dimm_fwhm is not None else "-"
        raw = ", ".join(f"{k} {v}" for k, v in sorted(n.raw.items())) or "-"
        prod = ", ".join(f"{k} {v}" for k, v in sorted(n.products.items())) or "-"
        lines.append(f"{n.night}  science {n.science_exptime:7.0f} s  DIMM {dimm}\n"
                     f"    raw:      {raw}\n    products: {prod}")
    return "\n".join(lines)
