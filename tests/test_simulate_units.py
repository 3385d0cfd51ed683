"""The simulator's building blocks: CCD layout, header cards, FITS writer, observing."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from qcservice.simulate import observing
from qcservice.simulate.cards import card_image, to_header
from qcservice.simulate.detector import normal_table
from qcservice.simulate.fitswrite import ImageSpec, PlannedFits, to_uint16_disk
from qcservice.simulate.layout import QUADRANTS, SCALES, slice_columns
from qcservice.vocabulary import N_SLICE


def test_full_layout_is_the_real_muse_ccd() -> None:
    layout = SCALES["full"].layout
    assert (layout.chan_nx, layout.chan_ny) == (4224, 4240)
    assert layout.trimmed_shape == (4112, 4096)
    assert layout.data_window(1) == (slice(32, 2088), slice(32, 2080))
    assert layout.data_window(3) == (slice(2152, 4208), slice(2144, 4192))
    assert layout.overscan_window(2) == (slice(32, 2088), slice(2112, 2144))


@pytest.mark.parametrize("scale", sorted(SCALES))
def test_quadrant_windows_tile_the_chip(scale: str) -> None:
    layout = SCALES[scale].layout
    raw = np.zeros((layout.chan_ny, layout.chan_nx), int)
    trimmed = np.zeros(layout.trimmed_shape, int)
    for q in QUADRANTS:
        raw[layout.readout_block(q)] += 1
        raw[layout.data_window(q)] += 10
        raw[layout.overscan_window(q)] += 100
        trimmed[layout.trimmed_window(q)] += 1
    assert set(np.unique(raw)) == {1, 11, 101}
    assert np.count_nonzero(raw == 11) == 4 * layout.nx * layout.ny
    assert np.all(trimmed == 1)
    cols = [slice_columns(layout, j) for j in range(1, N_SLICE + 1)]
    assert all(c.stop > c.start for c in cols)
    assert all(a.stop <= b.start for a, b in itertools.pairwise(cols))


def test_cards_parse_back_identically() -> None:
    cards = [("SIMPLE", True), ("NAXIS", 0, "no data"), ("EXPTIME", 900.0, "Integration time"),
             ("CD1_1", -5.555555555555556e-05), ("OBJECT", "O'Neil field"),
             ("ESO DET OUT1 GAIN", 1.1234, "[e-/ADU] gain"), ("ESO DET CHIP LIVE", False),
             ("ESO OBS PROG ID", "094.A-0289(A)", "x" * 100), ("MJD-OBS", 56999.11732405)]
    header = to_header(cards)
    for key, value, *_ in cards:
        assert type(header[key]) is type(value), key
        if isinstance(value, float):
            assert header[key] == pytest.approx(value, rel=1e-14), key
        else:
            assert header[key] == value, key
    assert len(card_image("ESO OBS PROG ID", "094.A-0289(A)", "x" * 100)) == 80
    assert card_image("NAXIS", 3)[:30] == "NAXIS   =                    3"
    with pytest.raises(ValueError):
        card_image("EXPTIME", float("nan"))


def test_planned_fits_writes_blocks_in_any_order(tmp_path: Path) -> None:
    data = np.arange(6 * 7 * 5, dtype=np.float32).reshape(6, 7, 5)
    counts = np.array([[0, 1, 65535], [32768, 1000, 2]], dtype=np.float64)
    specs = [ImageSpec([("OBJECT", "test")]),
             ImageSpec([("EXTNAME", "DATA")], data.shape, ">f4"),
             ImageSpec([("EXTNAME", "RAW")], counts.shape, ">i2")]
    path = tmp_path / "t.fits"
    with PlannedFits(path, specs) as out:
        out.write(2, to_uint16_disk(counts))
        out.write(1, data[3:].astype(">f4"), 3 * 7 * 5)
        out.write(1, data[:3].astype(">f4"))
        with pytest.raises(ValueError):
            out.write(1, data.astype(">f4"), 1)
    assert path.stat().st_size % 2880 == 0
    with fits.open(path) as hdul:
        hdul.verify("exception")
        assert hdul[0].header["OBJECT"] == "test"
        np.testing.assert_array_equal(hdul["DATA"].data, data)
        assert hdul["RAW"].data.dtype == np.uint16
        np.testing.assert_array_equal(hdul["RAW"].data, counts)


def test_normal_table_is_a_unit_gaussian() -> None:
    table = normal_table()
    assert table.size == 65536
    assert table.mean() == pytest.approx(0.0, abs=1e-6)
    assert table.std() == pytest.approx(1.0, abs=1e-3)


def test_observing_helpers() -> None:
    assert observing.eso_period(dt.date(2014, 12, 7)) == 94
    assert observing.eso_period(dt.date(2015, 4, 1)) == 95
    assert observing.science_prog_id(dt.date(2014, 12, 7), "WFM-NOAO-N") == "094.A-0289(A)"
    assert observing.night_of(dt.datetime(2014, 12, 8, 2, 48)) == dt.date(2014, 12, 7)
    assert observing.night_of(dt.datetime(2014, 12, 7, 18, 0)) == dt.date(2014, 12, 7)
    assert observing.add_years(dt.date(2016, 2, 29), 1) == dt.date(2017, 2, 28)
    when = dt.datetime(2014, 12, 8, 3, 0)
    ra = observing.transiting_ra(when, 0.0)
    assert observing.alt_az(ra, observing.PARANAL_LAT_DEG, when)[0] == pytest.approx(90, abs=0.1)
    assert observing.airmass(ra, -24.6272 + 60.0, when) == pytest.approx(2.0, abs=0.01)


def test_scipost_qc_of_a_star_at_the_edge_has_no_nan_card() -> None:
    """A star whose half maximum runs off the field has no measured width: the pipeline
    writes no FWHM card for it (a NaN card cannot be written at all)."""
    from qcservice.simulate.science import half_max_width, qc_scipost

    edge = np.array([9.0, 6.0, 3.0, 1.0, 0.0])        # peak at the first pixel
    assert np.isnan(half_max_width(edge, 0))
    cards = qc_scipost([(1.2, 3.4, float("nan"), 0.71), (5.0, 6.0, 0.70, 0.72),
                        (7.0, 8.0, 0.69, 0.73)])
    names = {name for name, *_ in cards}
    assert "ESO QC SCIPOST FWHM1 X" not in names and "ESO QC SCIPOST FWHM1 Y" in names
    assert all(np.isfinite(v) for _, v, *_ in cards if isinstance(v, float))
    header = to_header(cards)
    assert header["ESO QC SCIPOST FWHM NVALID"] == 2 and header["ESO QC SCIPOST POS1 X"] == 1.2
