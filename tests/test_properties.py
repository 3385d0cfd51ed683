"""Property-based tests (hypothesis): the header reader against astropy on generated cards,
ingest's reader on corrupted files (it names a reason, it never crashes), and threshold
evaluation against a plain restatement of its rules."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import random
import re
import tempfile
from pathlib import Path

import pytest
from astropy.io import fits
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from musefits import write_master, write_raw

from qcservice.fits.header import FitsFormatError, parse_card, read_headers
from qcservice.ingest.classify import Classified
from qcservice.ingest.runner import read_one
from qcservice.qc.evaluate import Verdict, evaluate
from qcservice.qc.thresholds import Threshold, ThresholdSet

# --- header parsing ---------------------------------------------------------------------

printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
values = st.one_of(
    st.booleans(),
    st.integers(min_value=-(10 ** 18), max_value=10 ** 18),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    printable.map(str.rstrip),      # trailing blanks are not significant in FITS strings
)
keywords = st.from_regex(r"[A-Z][A-Z0-9_-]{0,7}", fullmatch=True).filter(
    lambda k: k not in {"COMMENT", "HISTORY", "CONTINUE", "END", "HIERARCH"})
hierarch = st.lists(st.from_regex(r"[A-Z][A-Z0-9]{0,5}", fullmatch=True), min_size=1,
                    max_size=4).map(lambda words: "ESO " + " ".join(words))


@pytest.mark.filterwarnings("ignore:Card is too long")
@settings(max_examples=300, deadline=None)
@given(key=st.one_of(keywords, hierarch), value=values, comment=printable)
@example(key="QUOTE", value="O'Brien's", comment="")
@example(key="SLASH", value="a'/b", comment="c")
@example(key="ESO QC BIAS MASTER1 RON", value=2.5, comment="[adu] read noise")
def test_card_values_read_as_astropy_reads_them(key: str, value: object, comment: str) -> None:
    name = f"HIERARCH {key}" if key.startswith("ESO ") else key
    try:
        card = fits.Card(name, value, comment)
        image = card.image
    except (ValueError, fits.verify.VerifyError):
        assume(False)           # astropy cannot write it on one card: not a FITS card
    assume(len(image) == 80)    # long strings go over CONTINUE cards: tested elsewhere
    ours = parse_card(image)
    theirs = fits.Card.fromstring(image)
    assert ours.keyword == key
    if isinstance(value, str):   # the string written (astropy 6 misreads '' before /)
        assert ours.value == value
    elif isinstance(theirs.value, float):
        assert isinstance(ours.value, float) and (ours.value == theirs.value or
                                                  math.isclose(ours.value, theirs.value))
    else:
        assert ours.value == theirs.value and type(ours.value) is type(theirs.value)
        assert ours.comment == theirs.comment.strip()


@settings(max_examples=60, deadline=None)
@given(value=st.text(st.one_of(st.characters(min_codepoint=32, max_codepoint=126),
                               st.sampled_from("''/& ")), min_size=60,
                     max_size=300).map(str.rstrip))
@example(value="0" * 31 + "'/" + "0" * 27)            # astropy 6 reads this one wrong
@example(value="0" * 66 + "'0")                       # a doubled quote split over 2 cards
@example(value=" " + "0" * 64 + "''")
def test_long_strings_read_back_as_written(value: str) -> None:
    assume(value)
    header = fits.Header()
    header["LONGSTR"] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.fits"
        fits.PrimaryHDU(header=header).writeto(path)
        assert read_headers(path)[0].get("LONGSTR") == value


class Specimens(list):
    def __repr__(self) -> str:      # hypothesis prints the arguments of a failing case
        return "<a raw frame, a master calibration>"


@pytest.fixture(scope="module")
def specimens(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """The bytes of a small raw frame and of a master calibration, to damage."""
    folder = tmp_path_factory.mktemp("specimens")
    raw = write_raw(folder / "raw.fits", n_chan=24, dpr=("CALIB", "BIAS", "IFU"))
    master = write_master(folder / "MASTER_BIAS-03.fits", "MASTER_BIAS", 3,
                          {"BIAS MASTER1 RON": (2.5, "adu")})
    return Specimens([raw.read_bytes(), master.read_bytes()])


damage = st.tuples(st.sampled_from(["overwrite", "truncate", "insert", "card"]),
                   st.floats(min_value=0, max_value=1), st.binary(min_size=1, max_size=90))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from([0, 1]), damages=st.lists(damage, min_size=1, max_size=3))
def test_corrupted_files_get_a_reason_never_a_crash(specimens: list[bytes], which: int,
                                                   damages: list) -> None:
    data = bytearray(specimens[which])
    for kind, where, blob in damages:
        at = int(where * (len(data) - 1))
        if kind == "overwrite":
            data[at:at + len(blob)] = blob
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = blob
        else:   # one header card (of the first few blocks) replaced by other bytes
            card = (at % 360) * 80
            data[card:card + 80] = blob.ljust(80, b" ")[:80]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "damaged.fits"
        path.write_bytes(bytes(data))
        _, item, _ = read_one((str(path), False, 365))
    if isinstance(item, str):   # read_one names an exception it did not foresee so
        assert item and not re.match(r"unexpected [A-Z]\w*: ", item), item
    else:
        assert isinstance(item, Classified)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=6000))
def test_any_bytes_are_refused_with_a_format_error(blob: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "noise.fits"
        path.write_bytes(b"SIMPLE  =                    T".ljust(80) + blob)
        with contextlib.suppress(FitsFormatError):
            read_headers(path)


# --- threshold evaluation ----------------------------------------------------------------

limits = st.one_of(st.none(), st.floats(min_value=-100, max_value=100))
finite = st.floats(min_value=-1000, max_value=1000)


@st.composite
def thresholds(draw) -> Threshold:
    lo, hi = sorted(draw(st.lists(finite, min_size=4, max_size=4)))[::3]
    return Threshold(
        "m", draw(st.sampled_from(["A", "B"])),
        draw(st.dates(dt.date(2014, 1, 1), dt.date(2016, 1, 1))),
        ins_mode=draw(st.sampled_from([None, "WFM-NOAO-N", "NFM-AO-N"])),
        ifu=draw(st.sampled_from([None, 1, 2])),
        subunit=draw(st.sampled_from([None, "Q1", "Q2"])),
        warn_low=draw(limits), warn_high=draw(limits),
        error_low=draw(st.sampled_from([None, lo])), error_high=draw(st.sampled_from([None, hi])))


def oracle_verdict(t: Threshold, value: float | None) -> str | None:
    if value is None or math.isnan(value):
        return None
    if (t.error_low is not None and value < t.error_low) or \
            (t.error_high is not None and value > t.error_high):
        return "error"
    if (t.warn_low is not None and value < t.warn_low) or \
            (t.warn_high is not None and value > t.warn_high):
        return "warning"
    return None


@given(t=thresholds(), value=st.one_of(st.none(), finite, st.just(math.nan)))
def test_threshold_verdict_follows_its_limits(t: Threshold, value: float | None) -> None:
    assert t.verdict(value) == oracle_verdict(t, value)


def _identity(t: Threshold) -> tuple:
    return t.metric, t.flag, t.valid_from, t.ins_mode, t.ifu, t.subunit


rule_sets = st.lists(thresholds(), max_size=12, unique_by=_identity)
queries = st.tuples(st.dates(dt.date(2013, 6, 1), dt.date(2016, 6, 1)),
                    st.sampled_from([None, "WFM-NOAO-N", "NFM-AO-N"]),
                    st.sampled_from([None, 1, 2, 3]), st.sampled_from([None, "Q1", "Q2"]))


@given(rows=rule_sets, query=queries)
def test_applicable_row_is_the_latest_then_most_specific(rows: list[Threshold],
                                                         query: tuple) -> None:
    night, mode, ifu, sub = query
    got = {t.flag: t for t in ThresholdSet(rows).applicable("m", night, mode, ifu, sub)}
    assert len(got) == len(ThresholdSet(rows).applicable("m", night, mode, ifu, sub))
    for flag in ("A", "B"):
        matching = [t for t in rows if t.flag == flag and t.valid_from <= night
                    and t.ins_mode in (None, mode) and t.ifu in (None, ifu)
                    and t.subunit in (None, sub)]
        best = max(matching, key=lambda t: (t.valid_from, t.specificity()), default=None)
        assert got.get(flag) == best


metric_rows = st.lists(st.tuples(st.sampled_from([None, 1, 2, 3]),
                                 st.sampled_from([None, "Q1", "Q2"]),
                                 st.just("m"), st.one_of(st.none(), finite)), max_size=15)


@given(rows=rule_sets, metrics=metric_rows, seed=st.integers(0, 1000))
def test_verdict_is_independent_of_row_order_and_states_follow_the_rules(
        rows: list[Threshold], metrics: list[tuple], seed: int) -> None:
    rules = ThresholdSet(rows)
    night = dt.date(2015, 6, 1)
    verdict = evaluate(metrics, rules, night, "WFM-NOAO-N")
    shuffled = list(metrics)
    random.Random(seed).shuffle(shuffled)
    again = evaluate(shuffled, rules, night, "WFM-NOAO-N")
    assert (again.ifu_flags, again.file_flags, again.measured_ifus) == \
        (verdict.ifu_flags, verdict.file_flags, verdict.measured_ifus)

    levels = [lvl for flags in [verdict.file_flags, *verdict.ifu_flags.values()]
              for lvl in flags.values()]
    state = verdict.state()
    invalid = verdict.invalid_ifus()
    if "error" in verdict.file_flags.values():
        assert state == "Fail"
    elif invalid:
        assert state == ("Fail" if len(invalid) == len(verdict.measured_ifus) else "Check")
    else:
        assert state == ("Usable" if levels else "Pass")
    for ifu, flags in verdict.ifu_flags.items():   # an error is never downgraded
        for flag, level in flags.items():
            worst = [rules_level for i, s, _, v in metrics if i == ifu
                     for t in rules.applicable("m", night, "WFM-NOAO-N", i, s)
                     if t.flag == flag and (rules_level := t.verdict(v))]
            assert level == ("error" if "error" in worst else "warning")


def test_state_of_an_empty_verdict_is_pass() -> None:
    assert Verdict().state() == "Pass"


@pytest.mark.parametrize("value", [math.nan, None])
def test_unmeasured_value_raises_no_flag(value: float | None) -> None:
    rule = Threshold("m", "A", dt.date(2014, 1, 1), warn_low=0, warn_high=1, error_low=-1,
                     error_high=2)
    assert evaluate([(1, None, "m", value)], ThresholdSet([rule]), dt.date(2015, 1, 1),
                    None).state() == "Pass"
