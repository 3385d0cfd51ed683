"""The instrument's vocabulary is stated once (qcservice/vocabulary.py); where SQL keeps a
copy of its own (CHECK constraints, the QA-state table, the viewer's category and validity
functions), the copy in the migrated database says the same as Python."""

from __future__ import annotations

import re

from sqlalchemy import Engine, text

from qcservice.viewer.categories import CATEGORIES, MASTERS
from qcservice.vocabulary import (
    FINAL_CATEGORIES,
    N_IFU,
    OTHER_SKY_LINES_A,
    PASSED_STATES,
    PER_IFU_CATEGORIES,
    QA_STATES,
    SKY_LINES_A,
    SUMMARY_PRODUCT_CATEGORY,
    SUMMARY_RAW_TYPE,
    WAVE_RANGE_A,
    summary_raw_category,
)

# DPR CATG / TYPE pairs of real MUSE raw frames, plus a few that no column counts
RAW = [(c, t) for c in ("SCIENCE", "CALIB", "TECHNICAL", None)
       for t in ("OBJECT", "SKY", "BIAS", "DARK", "FLAT,LAMP", "FLAT,SKY", "FLAT,LAMP,ILLUM",
                 "WAVE", "STD", "STD,FLUX", "ASTROMETRY", "WAVE,LSF", None)]


def test_qa_states_and_validity_in_sql_match(engine: Engine) -> None:
    with engine.connect() as conn:
        states = conn.execute(text("SELECT code FROM qc.qa_states ORDER BY rank")).scalars()
        assert tuple(states) == QA_STATES
        for state in QA_STATES:
            validity = conn.execute(text("SELECT qc.viewer_validity(NULL, 'product', :s)"),
                                    {"s": state}).scalar_one()
            assert validity == (1 if state in PASSED_STATES else -1 if state == "Fail" else 0)


def test_summary_categories_in_sql_match(engine: Engine) -> None:
    catgs = {*SUMMARY_PRODUCT_CATEGORY, *PER_IFU_CATEGORIES, *FINAL_CATEGORIES,
             "STD_RESPONSE", "PIXTABLE_REDUCED", "nonsense"}
    with engine.connect() as conn:
        for catg in sorted(catgs):
            got = conn.execute(text("SELECT qc.viewer_product_category(:c)"),
                               {"c": catg}).scalar_one()
            assert got == SUMMARY_PRODUCT_CATEGORY.get(catg), catg
        for dpr_catg, dpr_type in RAW:
            got = conn.execute(text("SELECT qc.viewer_raw_category(:c, :t)"),
                               {"c": dpr_catg, "t": dpr_type}).scalar_one()
            assert got == summary_raw_category(dpr_catg, dpr_type), (dpr_catg, dpr_type)
    # every column of the summary is reached by some category, and nothing else is
    reached = {*SUMMARY_PRODUCT_CATEGORY.values(), *SUMMARY_RAW_TYPE.values(),
               *(summary_raw_category(c, t) for c, t in RAW)} - {None}
    assert reached == {c.key for c in CATEGORIES}
    assert MASTERS == {"bias_red": "MASTER_BIAS", "dark_red": "MASTER_DARK",
                       "flat_red": "MASTER_FLAT", "wave_red": "WAVECAL_TABLE"}


def test_every_ifu_check_in_sql_allows_exactly_the_ifus(engine: Engine) -> None:
    with engine.connect() as conn:
        checks = conn.execute(text(
            "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'c' AND pg_get_constraintdef(oid) ~ '\\mifu\\M'")).all()
    assert len(checks) >= 6        # files' HDUs, metrics, IFU statuses, recipe runs ...
    for table, definition in checks:
        bounds = re.fullmatch(r"CHECK \(\(\(ifu >= (\d+)\) AND \(ifu <= (\d+)\)\)\)",
                              definition)
        assert bounds, f"{table}: {definition}"
        assert (int(bounds[1]), int(bounds[2])) == (1, N_IFU), f"{table}: {definition}"


def test_sky_lines_are_one_list_within_the_cubes_range() -> None:
    """The cube page marks the lines QC measures; the others only keep the noise
    calibration off them. Each line is in one list, and inside what a cube covers."""
    lines = (*SKY_LINES_A, *OTHER_SKY_LINES_A)
    assert len(set(lines)) == len(lines) == 31
    assert list(SKY_LINES_A) == sorted(SKY_LINES_A)
    assert all(WAVE_RANGE_A[0] < w < WAVE_RANGE_A[1] for w in lines)


def test_qc_tasks_agree_on_which_products_are_per_ifu() -> None:
    from qcservice.qc.registry import TASKS

    products = [t for t in TASKS.values() if t.kind == "product"]
    assert products and all(t.per_ifu == (t.category in PER_IFU_CATEGORIES) for t in products)
