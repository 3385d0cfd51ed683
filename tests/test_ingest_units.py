"""Units of the pipeline's QC keywords, and our metrics against the pipeline's QC1.

Master calibrations written by the official pipeline (``esorex muse_bias`` and
``muse_dark``, Debian cpl-plugin-muse, one IFU) on the simulator's raw frames are
ingested: every harvested unit is the official dictionary's (also when a comment is cut
before its closing bracket), ``master_dark.median`` is in the file's own unit, and the
project's own ``bias.ron_e`` and ``dark.current``, measured on the raw frames, agree with
the pipeline's QC1 on the same frames (2 % and 5 %). The small scale: on tiny frames the
32-pixel overscan alone makes a raw dark's current uncertain by ~17 %.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from qcservice.ingest.harvest import unit_of
from qcservice.ingest.qcdict import dictionary_units, installed_dictionary, parse_units
from qcservice.ingest.runner import ingest_paths
from qcservice.qc.run import run_qc
from qcservice.simulate import simulate_night

IFU = 1


def _esorex(esorex: str, recipe: str, out: Path, sof: list[tuple[Path, str]]) -> Path:
    (out / f"{recipe}.sof").write_text("".join(f"{p} {tag}\n" for p, tag in sof))
    result = subprocess.run([esorex, f"--output-dir={out}", f"--log-dir={out}", recipe,
                             f"--nifu={IFU}", f"{recipe}.sof"], cwd=out,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    catg = {"muse_bias": "MASTER_BIAS", "muse_dark": "MASTER_DARK"}[recipe]
    return out / f"{catg}-{IFU:02d}.fits"


def test_shipped_units_are_the_dictionary() -> None:
    source = installed_dictionary()
    assert source is not None, "cpl-plugin-muse ships dic/ESO-DFS-DIC.MUSE_QC"
    official = parse_units(source.read_text())
    assert dictionary_units() == official
    assert official["QC WAVECAL SLICEi DWLEN BOTTOM"] == "Angstrom"
    assert official["QC DARK MASTER DC"] == "count/pix/h"


@pytest.fixture(scope="module")
def pipeline(esorex: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("esorex")
    truth = simulate_night(root / "sim", "2015-01-20", "small", "WFM-NOAO-N", seed=21)
    assert all(f["ifu"] != IFU for f in truth.to_dict()["faults"] if "ifu" in f)
    raws = {t: sorted(truth.directory / p for p, r in truth.files.items()
                      if r.kind == "raw" and r.dpr_type == t and r.broken is None)
            for t in ("BIAS", "DARK")}
    out = root / "pipeline"
    out.mkdir()
    bias = _esorex(esorex, "muse_bias", out, [(p, "BIAS") for p in raws["BIAS"]])
    dark = _esorex(esorex, "muse_dark", out, [*((p, "DARK") for p in raws["DARK"]),
                                              (bias, "MASTER_BIAS")])
    cut = out / "cut" / dark.name                # a comment cut before its "]"
    cut.parent.mkdir()
    shutil.copy(dark, cut)
    with fits.open(cut, mode="update") as hdul:
        hdul[0].header.comments["HIERARCH ESO QC DARK MASTER DC"] = "[count/pix"
        hdul[0].header["DATE-OBS"] = "2015-01-21T10:30:00.000"   # another file, same night
    return {"raw": [p for ps in raws.values() for p in ps], "bias": bias, "dark": dark,
            "cut": cut}


@pytest.fixture(scope="module")
def ingested(pipeline: dict, pg_settings, tmp_path_factory: pytest.TempPathFactory):
    from sqlalchemy import create_engine
    from support import fresh_database

    with fresh_database(pg_settings) as url:
        engine = create_engine(url)
        report = ingest_paths(engine, [*pipeline["raw"], pipeline["bias"], pipeline["dark"],
                                       pipeline["cut"]], workers=2, checksum=False)
        assert report.ok, report.failures
        assert run_qc(engine, tmp_path_factory.mktemp("img"), workers=2).ok
        yield engine
        engine.dispose()


def _rows(engine: Engine, sql: str, **params) -> list:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def test_harvested_units_follow_the_dictionary(ingested: Engine, pipeline: dict) -> None:
    units = dictionary_units()
    rows = _rows(ingested, "SELECT f.path, m.name, m.unit FROM qc.metrics m JOIN qc.files f "
                 "USING (file_id) WHERE m.source = 'header' AND f.path = ANY(:p)",
                 p=[str(pipeline[k]) for k in ("bias", "dark", "cut")])
    checked = [(path, name, unit) for path, name, unit in rows if name in units]
    assert len(checked) >= 12
    for path, name, unit in checked:
        assert unit == units[name], (path, name)
    cut = {n: u for p, n, u in rows if p == str(pipeline["cut"])}
    assert cut["QC DARK MASTER DC"] == "count/pix/h"


def test_master_dark_median_in_the_files_unit(ingested: Engine, pipeline: dict) -> None:
    (unit, value), = _rows(ingested, "SELECT m.unit, m.value FROM qc.metrics m JOIN qc.files f "
                           "USING (file_id) WHERE m.name = 'master_dark.median' "
                           "AND f.path = :p", p=str(pipeline["dark"]))
    assert unit == fits.getval(pipeline["dark"], "BUNIT", extname="DATA") == "count"
    assert value == pytest.approx(fits.getval(pipeline["dark"], "ESO QC DARK MASTER MEDIAN"),
                                  rel=0.01)


def test_read_noise_and_dark_current_agree_with_the_pipeline(ingested: Engine,
                                                             pipeline: dict) -> None:
    header = fits.getheader(pipeline["bias"])
    for q in (1, 2, 3, 4):
        ours = [v for v, in _rows(ingested, "SELECT value FROM qc.metrics WHERE "
                                  "name = 'bias.ron_e' AND ifu = :i AND subunit = :q",
                                  i=IFU, q=f"Q{q}")]
        assert len(ours) == len([p for p in pipeline["raw"] if "BIAS" in fits.getval(
            p, "HIERARCH ESO DPR TYPE")])
        assert np.mean(ours) == pytest.approx(header[f"ESO QC BIAS MASTER{q} RON"],
                                              rel=0.02), q
    dark = [v for v, in _rows(ingested, "SELECT value FROM qc.metrics WHERE "
                              "name = 'dark.current' AND ifu = :i", i=IFU)]
    assert len(dark) == 3 * 4            # three darks, four quadrants
    qc1 = fits.getheader(pipeline["dark"])
    assert np.mean(dark) == pytest.approx(qc1["ESO QC DARK MASTER DC"], rel=0.05)
    assert np.mean(dark) == pytest.approx(qc1["ESO QC DARK MASTER MEDIAN"], rel=0.03)


@given(comment=st.text(max_size=60), name=st.sampled_from(
    ["QC DARK MASTER DC", "QC WAVECAL SLICEi DWLEN BOTTOM", "QC BIAS MASTERi MEDIAN",
     "QC NOT IN THE DICTIONARY"]))
def test_unit_of_any_comment(comment: str, name: str) -> None:
    """Whatever a header comment holds: its complete leading [unit], else the
    dictionary's (None when it has none); never an exception, never a cut unit."""
    unit = unit_of(comment, name)
    stripped = comment.strip()
    closed = stripped.startswith("[") and "]" in stripped
    inside = stripped[1:stripped.index("]")].strip() if closed else ""
    assert unit == (inside or dictionary_units().get(name))
    cut = unit_of("[" + "Angstrom"[: len(comment) % 8], name)
    assert cut == dictionary_units().get(name)
