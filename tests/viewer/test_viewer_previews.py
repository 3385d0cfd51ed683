"""Previews QC writes of raw frames and master calibrations (qcservice/qc/preview.py): the
24 IFUs laid out as the viewer's grids, from a real simulated night's files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib import image as mimage

from qcservice.qc import preview
from qcservice.qc.masters import master_bias_qc
from qcservice.qc.raw import raw_frame_qc
from qcservice.simulate import simulate_night


@given(ifus=st.sets(st.integers(1, 24), min_size=1), h=st.integers(1, 9), w=st.integers(1, 9))
def test_mosaic_puts_ifu_n_where_the_grids_do(ifus, h, w):
    thumbs = {i: np.full((h, w), float(i)) + np.arange(w) for i in ifus}
    out = preview.mosaic(thumbs)
    assert out.shape == (4 * (h + 2), 6 * (w + 2))
    for i in range(1, 25):
        r, c = divmod(i - 1, 6)
        block = out[r * (h + 2):r * (h + 2) + h, c * (w + 2):c * (w + 2) + w]
        assert np.isfinite(block).all() == (i in ifus)


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate_night(tmp_path_factory.mktemp("preview-sim"), "2024-03-10", scale="tiny",
                          seed=11).directory


def test_raw_flat_preview_shows_the_dead_slice(night: Path, tmp_path: Path):
    truth = json.loads((night / "truth.json").read_text())
    dead = next(f for f in truth["faults"] if f["kind"] == "dead_slice")
    flat = next(e for e in truth["exposures"] if e["tag"] == "FLAT")
    result = raw_frame_qc(str(night / flat["file"]), "FLAT,LAMP", 15.0, None, str(tmp_path))
    (img,) = result.images
    png = mimage.imread(img.path)
    assert img.kind == "preview" and img.ifu is None and png.shape[0] < png.shape[1] <= 6 * 98
    h, w = png.shape[0] // 4, png.shape[1] // 6

    def dark_columns(ifu: int) -> int:
        r, c = divmod(ifu - 1, 6)
        columns = png[r * h:(r + 1) * h - 2, c * w:(c + 1) * w - 2, 0].mean(axis=0)
        return int((columns < 0.5 * np.median(columns[columns > 0.3])).sum())
    others = [dark_columns(i) for i in range(1, 25) if i != dead["ifu"]]
    assert dark_columns(dead["ifu"]) > max(others)     # the dead slice, beside the overscans
    assert raw_frame_qc(str(night / flat["file"]), "FLAT,LAMP", 15.0).images == []


def test_master_preview_is_one_ifu(night: Path, tmp_path: Path):
    master = sorted((night / "products").glob("MASTER_BIAS-0*.fits"))[0]
    (img,) = master_bias_qc(str(master), 1, str(tmp_path)).images
    png = mimage.imread(img.path)
    assert img.ifu == 1 and max(png.shape[:2]) <= preview.THUMB
