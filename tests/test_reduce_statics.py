"""The simulator's static calibrations (Debian ships none): the formats the MUSE
pipeline's recipes read, and consistent with what the simulator injects.

That muse_scibasic and muse_scipost accept them on full-size frames is the acceptance
run of bench/bench_reduce.py; here the tables' contents.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import given, settings
from hypothesis import strategies as st

from qcservice.reduce.oca import default_rules
from qcservice.reduce.statics import static_frames
from qcservice.simulate import geometry
from qcservice.simulate.spectra import response_mag
from qcservice.simulate.statics import (
    FILTERS,
    filter_throughput,
    flat_fielded_response_mag,
    write_statics,
)
from qcservice.vocabulary import INS_MODES


@pytest.fixture(scope="module")
def statics(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("out")
    write_statics(folder, "static")
    return folder / "static"


def test_each_static_is_classified_as_the_pipeline_rules_say(statics: Path) -> None:
    catgs = sorted(f.catg for f in static_frames(default_rules(), statics))
    assert catgs == sorted(["EXTINCT_TABLE", "FILTER_LIST", "GEOMETRY_TABLE", "LINE_CATALOG",
                            *["STD_RESPONSE"] * len(INS_MODES)])


def test_geometry_table_tiles_the_field_with_every_slice_once(statics: Path) -> None:
    with fits.open(statics / "geometry_table.fits") as hdul:
        t = hdul["GEOMETRY_TABLE"].data
        units = {c.name: c.unit for c in hdul["GEOMETRY_TABLE"].columns}
    assert units["x"] == units["y"] == units["width"] == "pix" and units["angle"] == "deg"
    assert len(t) == 24 * 48
    for ifu in range(1, 25):
        mine = t[t["SubField"] == ifu]
        assert sorted(mine["SliceCCD"]) == sorted(mine["SliceSky"]) == list(range(1, 49))
        # 4 stacks side by side, 12 rows each: each (x, y) is one slice
        assert len({(x, y) for x, y in zip(mine["x"], mine["y"], strict=True)}) == 48
    # the slices cover the 1 arcmin field: 300 x 300 spaxels of 0.2 arcsec
    assert (t["x"] - t["width"] / 2).min() == pytest.approx(-150)
    assert (t["x"] + t["width"] / 2).max() == pytest.approx(150)
    assert np.ptp(t["y"]) + 1 == pytest.approx(300 - 0.5, abs=0.01)
    # IFU 1 is the top strip; the CCD order is the instrument's (mpdaf's ccd2sky)
    assert t["y"][t["SubField"] == 1].min() > t["y"][t["SubField"] == 2].max()
    first = t[(t["SubField"] == 5) & (t["SliceCCD"] == 1)][0]
    assert first["SliceSky"] == geometry.sky_slice(1) == 9


@given(st.floats(4000, 10000))
def test_filter_throughput_is_a_smooth_top_hat(lam: float) -> None:
    lo, hi = FILTERS["Johnson_V"]
    value = float(filter_throughput(np.array([lam]), lo, hi)[0])
    assert 0.0 <= value <= 1.0
    if lo <= lam <= hi:
        assert value == 1.0
    if lam < lo - 100 or lam > hi + 100:
        assert value == pytest.approx(0.0, abs=1e-12)


def test_filter_list_has_the_filters_scipost_is_asked_for(statics: Path) -> None:
    options = default_rules().params["muse_scipost"]
    (names,) = [o.split("=", 1)[1].split(",") for o in options if o.startswith("--filter=")]
    with fits.open(statics / "filter_list.fits") as hdul:
        # muse_scipost 2.8.7 matches EXTNAME exactly ("does not contain filter ...")
        assert {h.header["EXTNAME"] for h in hdul[1:]} == set(names)
        white = hdul["WHITE"].data
    assert white["throughput"][(white["lambda"] > 4750) & (white["lambda"] < 9300)].min() == 1


def test_response_per_mode_and_no_extinction(statics: Path) -> None:
    for mode in INS_MODES:
        with fits.open(statics / f"std_response_{mode.lower()}.fits") as hdul:
            assert hdul[0].header["ESO INS MODE"] == mode
            t = hdul["STD_RESPONSE"].data
        assert np.all(np.diff(response_mag(t["lambda"])) > 0)   # more photons per erg
        assert t["response"] == pytest.approx(flat_fielded_response_mag(t["lambda"]))
    with fits.open(statics / "extinct_table.fits") as hdul:
        assert not hdul["EXTINCT_TABLE"].data["extinction"].any()


def test_response_calibrates_flat_fielded_data() -> None:
    """A star's electrons divided by the master flat (a simulated lamp flat normalised to
    its mean, as muse_flat does) and converted with the written response give back the
    injected flux: the lamp's spectrum and the slice's efficiency cancel."""
    from types import SimpleNamespace

    from qcservice.simulate.detector import instrument
    from qcservice.simulate.faults import Faults
    from qcservice.simulate.layout import SCALES, slice_columns
    from qcservice.simulate.signals import signal_image
    from qcservice.simulate.spectra import ccd_row_edges

    layout, mode, flux, exptime = SCALES["full"].layout, INS_MODES[0], 1000.0e-20, 900.0
    det = instrument(7, 1, layout)[12]
    flat = signal_image(SimpleNamespace(tag="FLAT", exptime_s=15.0, ins_mode=mode), layout,
                        det, Faults(), mode)
    flat /= flat.mean()
    edges = ccd_row_edges(2 * layout.ny)
    for j, wave in ((5, 5000.0), (20, 7000.0), (40, 9000.0)):
        row = int(np.searchsorted(edges, wave)) - 1
        dlam = edges[row + 1] - edges[row]
        electrons = det.slice_efficiency[j - 1] * flux * 10 ** (
            0.4 * response_mag(np.array([wave]))[0]) * exptime * dlam
        per_flat = electrons / flat[row, slice_columns(layout, j)].mean()
        calibrated = per_flat / (exptime * dlam) / 10 ** (
            0.4 * flat_fielded_response_mag(np.array([wave]))[0])
        assert calibrated == pytest.approx(flux, rel=0.02)


def _one_star(x_sky: float, y_sky: float, flux: float = 1000.0):
    from qcservice.simulate.cube import CubeModel, Source

    n = 320
    x, y = (n - 1) / 2 - x_sky, (n - 1) / 2 + y_sky
    return CubeModel(nx=n, ny=n, pixscale_arcsec=0.2, fwhm_7000_arcsec=0.8,
                     drift_per_1000a=(0.0, 0.0), sky_amplitude=0.0, sky_rows=np.zeros(n),
                     sigma0=1.0, poisson=0.0, sources=[Source(1, "star", x, y, flux, 0.0)],
                     notch=False)


@settings(max_examples=8, deadline=None)   # a full-size CCD each
@given(st.floats(-0.45, 0.45), st.floats(-0.4, 0.4))
def test_a_star_lands_where_the_geometry_table_says(across: float, frac: float) -> None:
    """The slicer puts a star on the CCD columns and slices GEOMETRY_TABLE maps back to
    its position, with the flux the written response gives (electrons conserved)."""
    from qcservice.simulate.layout import SCALES, slice_columns
    from qcservice.simulate.slicer import stars_on_ccd
    from qcservice.simulate.spectra import ccd_row_edges

    layout = SCALES["full"].layout
    ifu, sky = 13, 18   # a slice inside the strip: the star's light stays in IFU 13
    xs, ys = geometry.slice_centre(ifu, sky)
    x_sky = xs + across * geometry.SLICE_SKY_WIDTH
    image = stars_on_ccd(_one_star(x_sky, ys + frac), layout, ifu, 900.0)
    edges = ccd_row_edges(2 * layout.ny)
    row = int(np.searchsorted(edges, 7000.0)) - 1
    per_slice = {j: image[row, slice_columns(layout, j)] for j in range(1, 49)}
    brightest = max(per_slice, key=lambda j: per_slice[j].sum())
    assert geometry.sky_slice(brightest) == sky
    cols = per_slice[brightest]
    f = (np.argmax(cols) + 0.5) / cols.size
    assert geometry.slice_centre(ifu, sky)[0] + (f - 0.5) * 75 == pytest.approx(x_sky, abs=1.0)
    wave = 0.5 * (edges[row] + edges[row + 1])
    expected = 1000.0 * 1e-20 * 10 ** (0.4 * response_mag(np.array([wave]))[0]) * 900.0 \
        * (edges[row + 1] - edges[row])
    total = sum(v.sum() for v in per_slice.values())
    # the strip's 12 rows of 1 spaxel hold nearly all of a 0.8" (4-spaxel) PSF
    assert 0.85 * expected < total <= 1.01 * expected
