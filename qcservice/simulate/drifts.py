"""Slow drifts of the instrument over nights, for trends to show (as real CCDs age).

From ``EPOCH`` on (nothing before it), per day: every bias level rises by
``BIAS_ADU_PER_DAY``, every dark current by ``DARK_PER_DAY`` (e-/pix/h), and the read
noise of one IFU, ``AGEING_IFU``, grows by ``RON_PER_DAY`` of itself, so that after
about two years it nears the read-noise warning limit (4 e-). The drifted values are
the truth the raw frames are made from and that ``truth.json`` records.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from qcservice.simulate.detector import IfuDetector

EPOCH = dt.date(2024, 1, 1)
BIAS_ADU_PER_DAY = 0.01
DARK_PER_DAY = 0.0005
AGEING_IFU = 9
RON_PER_DAY = 0.0004


def drifted(detectors: list[IfuDetector], night: dt.date) -> list[IfuDetector]:
    """The detectors as they are on ``night``, their slow drifts since EPOCH applied."""
    days = max(0, (night - EPOCH).days)
    if not days:
        return detectors
    out = []
    for det in detectors:
        ron = 1.0 + RON_PER_DAY * days if det.ifu == AGEING_IFU else 1.0
        quads = tuple(dataclasses.replace(
            q, bias_adu=round(q.bias_adu + BIAS_ADU_PER_DAY * days, 3),
            ron_adu=round(q.ron_adu * ron, 4)) for q in det.quadrants)
        out.append(dataclasses.replace(
            det, quadrants=quads, dark_e_per_h=round(det.dark_e_per_h + DARK_PER_DAY * days,
                                                     4)))
    return out
