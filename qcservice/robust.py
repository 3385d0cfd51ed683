"""Robust scatter: the standard deviation of Gaussian values from their median absolute
deviation, which a minority of outliers (sources, sky lines, cosmics) hardly moves."""

from __future__ import annotations

import numpy as np

MAD_TO_SIGMA = 1.4826   # 1 / Phi^-1(3/4): a Gaussian's sigma over its MAD


def mad_sigma(values: np.ndarray) -> float:
    """``MAD_TO_SIGMA`` times the median absolute deviation of the finite ``values`` (NaN
    when there are none)."""
    v = np.asarray(values)
    v = v[np.isfinite(v)]
    return MAD_TO_SIGMA * float(np.median(np.abs(v - np.median(v)))) if v.size else float("nan")
