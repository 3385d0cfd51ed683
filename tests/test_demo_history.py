"""The demo's history: nights ending yesterday (under embargo), anchored for reruns, and
the instrument's slow drifts that its trends show."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from qcservice.demo import _history_start
from qcservice.simulate import detector
from qcservice.simulate.drifts import AGEING_IFU, EPOCH, drifted
from qcservice.simulate.layout import SCALES


def test_history_ends_yesterday_and_is_kept_for_reruns(tmp_path: Path) -> None:
    start = dt.date.fromisoformat(_history_start(tmp_path / "sim", 21, 28))
    yesterday = dt.date.today() - dt.timedelta(days=1)
    assert start + dt.timedelta(days=28 * 20) == yesterday
    assert (yesterday - start).days > 365            # the oldest nights are released
    (tmp_path / "sim" / ".history-21-28").write_text("2020-01-01\n")   # a first run then
    assert _history_start(tmp_path / "sim", 21, 28) == "2020-01-01"


DETECTORS = detector.instrument(1, 0, SCALES["tiny"].layout)


@given(a=st.integers(-400, 1500), b=st.integers(-400, 1500))
def test_drifts_are_slow_monotonic_and_start_at_epoch(a: int, b: int) -> None:
    early, late = sorted((a, b))
    one = drifted(DETECTORS, EPOCH + dt.timedelta(days=early))
    two = drifted(DETECTORS, EPOCH + dt.timedelta(days=late))
    if late <= 0:
        assert one == two == DETECTORS
    for d1, d2, d0 in zip(one, two, DETECTORS, strict=True):
        assert d1.dark_e_per_h <= d2.dark_e_per_h <= d0.dark_e_per_h + 1.0
        for q1, q2 in zip(d1.quadrants, d2.quadrants, strict=True):
            assert q1.bias_adu <= q2.bias_adu and q1.gain == q2.gain
            assert q1.ron_adu <= q2.ron_adu
            assert (q1.ron_adu == q2.ron_adu) == (d1.ifu != AGEING_IFU or early == late
                                                   or late <= 0)


def test_the_ageing_ifu_nears_the_warning_limit_after_two_years() -> None:
    night = EPOCH + dt.timedelta(days=730)
    det = drifted(DETECTORS, night)[AGEING_IFU - 1]
    base = DETECTORS[AGEING_IFU - 1]
    ratio = det.quadrants[0].ron_e / base.quadrants[0].ron_e
    assert 1.25 < ratio < 1.35
