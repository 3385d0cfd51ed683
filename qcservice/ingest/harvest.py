"""Harvest the pipeline's QC1 keywords (``ESO QC ...``) of every HDU into metric rows.

The name keeps the shape of the official ESO dictionary (ESO-DFS-DIC.MUSE_QC): each
numbered token becomes its pattern and the numbers become the sub-unit, so
``ESO QC BIAS MASTER3 RON`` is metric ``QC BIAS MASTERi RON``, sub-unit ``3`` (quadrant 3),
and ``ESO QC EXPCOMB FWHM2 X`` is ``QC EXPCOMB FWHMi X``, sub-unit ``2`` (source 2).
The unit comes from the comment's leading ``[unit]``, as ESO writes it; when the comment
has none, or was cut before its closing bracket, from the official dictionary
(:mod:`qcservice.ingest.qcdict`).
"""

from __future__ import annotations

import math
import re

from qcservice.fits.header import Header, RawValue
from qcservice.ingest.qcdict import dictionary_units

_INDEXED = re.compile(r"^([A-Z][A-Z_]*?)(\d+)$")
_UNIT = re.compile(r"^\[([^\]]*)\]")


def metric_name(keyword: str) -> tuple[str, str | None]:
    """(name, subunit) of a QC keyword such as ``ESO QC FLAT MASTER SLICE12 MEAN``."""
    tokens = keyword.split()
    if tokens and tokens[0] == "ESO":
        tokens = tokens[1:]
    indices = []
    out = []
    for token in tokens:
        match = _INDEXED.match(token)
        if match and out:            # never the leading "QC"
            out.append(match.group(1) + "i")
            indices.append(str(int(match.group(2))))
        else:
            out.append(token)
    return " ".join(out), (",".join(indices) or None)


def unit_of(comment: str, name: str | None = None) -> str | None:
    """The comment's ``[unit]``; else (none, or cut: ``[Angstrom``) the dictionary's unit
    of metric ``name``."""
    match = _UNIT.match(comment.strip())
    found = match.group(1).strip() or None if match else None
    return found or (dictionary_units().get(name) if name else None)


def harvest_qc(headers: list[Header], default_ifu: int | None) -> list[dict]:
    """Metric rows (source 'header') for every ESO QC keyword of every HDU."""
    rows: dict[tuple, dict] = {}
    for h in headers:
        chan = h.extname or ""
        ifu = int(chan[4:]) if re.fullmatch(r"CHAN\d\d", chan) else default_ifu
        for card in h.cards:
            if not card.keyword.startswith("ESO QC "):
                continue
            name, subunit = metric_name(card.keyword)
            value, value_text = card.value, None
            if isinstance(value, bool):
                value = float(value)
            elif isinstance(value, int | float) and not isinstance(value, RawValue):
                value = float(value) if math.isfinite(value) else None
            else:
                value, value_text = None, None if value is None else str(value)
            rows[(ifu, subunit, name)] = {
                "ifu": ifu, "subunit": subunit, "name": name, "value": value,
                "value_text": value_text, "unit": unit_of(card.comment, name), "source": "header"}
    return list(rows.values())
