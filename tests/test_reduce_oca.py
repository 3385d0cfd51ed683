"""The pipeline's own OCA rules, read from Debian's cpl-plugin-muse, classify frames as
the rule file says: properties over arbitrary header values."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from qcservice.reduce.oca import Expr, default_rules

VALUES = st.sampled_from(["CALIB", "SCIENCE", "TEST", "BIAS", "DARK", "FLAT,LAMP",
                          "FLAT,SKY", "WAVE", "WAVE,MASK", "OBJECT", "STD", "IFU", "IMAGE",
                          ""]) | st.text(max_size=12)


@settings(max_examples=300, deadline=None)
@given(catg=VALUES, typ=VALUES, tech=VALUES)
def test_bias_dark_arc_classified_exactly_when_the_rules_say(catg, typ, tech) -> None:
    frame = default_rules().classify_frame(
        {"ESO DPR CATG": catg, "ESO DPR TYPE": typ, "ESO DPR TECH": tech})
    calib_ifu = catg == "CALIB" and tech == "IFU"
    expected = {"BIAS": "BIAS", "DARK": "DARK", "WAVE": "ARC"}.get(typ) if calib_ifu else None
    if expected:
        assert frame["DO.CATG"] == expected
    elif calib_ifu and typ in ("STD",):
        assert frame["DO.CATG"] == "STD"
    elif not (catg in ("ACQUISITION", "TEST") or calib_ifu or catg == "SCIENCE"):
        assert "DO.CATG" not in frame


@given(value=st.text(max_size=10), prefix=st.text(max_size=4))
def test_like_is_sql_like(value, prefix) -> None:
    pattern = prefix.replace('"', "").replace("%", "").replace("_", "")
    expr = Expr(f'X like "{pattern}%"')
    assert expr.evaluate({"X": value}) == value.startswith(pattern)
    assert Expr('X like "%"').evaluate({"X": value})
    assert not expr.evaluate({})   # a missing key matches nothing


def test_the_actions_of_the_cascade() -> None:
    rules = default_rules()
    assert rules.triggers["BIAS"] == "muse_bias" and rules.recipes["muse_wave"] == "muse_wavecal"
    required = {a: [s.tag for s in rules.selections[a] if s.min_ret >= 1]
                for a in ("muse_dark", "muse_flat", "muse_wave", "muse_scibasic")}
    assert required == {"muse_dark": ["MASTER_BIAS"], "muse_flat": ["MASTER_BIAS"],
                        "muse_wave": ["LINE_CATALOG", "MASTER_BIAS", "TRACE_TABLE"],
                        "muse_scibasic": ["MASTER_BIAS", "MASTER_FLAT", "TRACE_TABLE",
                                          "WAVECAL_TABLE", "GEOMETRY_TABLE"]}
