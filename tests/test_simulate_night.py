"""A simulated tiny night, checked file by file against its truth.json.

One night is written once for the module (seed 7, faults on); every test reads the real
files with astropy and compares headers and pixels with what the simulator says it
injected, so a wrong layout, unit, keyword or statistic fails here.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from qcservice.simulate import load_truth, simulate_night
from qcservice.simulate.layout import SCALES, slice_columns, slice_qc_rows
from qcservice.simulate.observing import night_of

NIGHT = dt.date(2014, 12, 7)
SEED = 7
LAYOUT = SCALES["tiny"].layout


@pytest.fixture(scope="module")
def night_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    simulate_night(out, NIGHT, "tiny", "WFM-NOAO-N", SEED)
    return out / NIGHT.isoformat()


@pytest.fixture(scope="module")
def truth(night_dir: Path) -> dict:
    return load_truth(night_dir)


def files_of(truth: dict, **wanted: object) -> list[str]:
    """Relative paths of the files map whose records match ``wanted``."""
    return sorted(p for p, r in truth["files"].items()
                  if all(r[k] == v for k, v in wanted.items()))


def header(path: Path, ext: int | str = 0) -> fits.Header:
    with fits.open(path) as hdul:
        return hdul[ext].header.copy()


def good_biases(truth: dict) -> list[str]:
    return files_of(truth, kind="raw", dpr_type="BIAS", broken=None)


def chan_adu(night_dir: Path, rel: str, ifu: int) -> np.ndarray:
    with fits.open(night_dir / rel) as hdul:
        return hdul[f"CHAN{ifu:02d}"].data.astype(np.float64)


def fault(truth: dict, kind: str) -> dict:
    return next(f for f in truth["faults"] if f["kind"] == kind)


# ---------------------------------------------------------------------------- files


def test_files_map_lists_exactly_the_fits_files_written(night_dir: Path, truth: dict) -> None:
    on_disk = {str(p.relative_to(night_dir)) for p in night_dir.rglob("*.fits")}
    assert on_disk == set(truth["files"])
    kinds = {r["kind"] for r in truth["files"].values()}
    assert kinds == {"raw", "product"}
    for record in truth["files"].values():
        assert set(record) == {"kind", "dpr_catg", "dpr_type", "dpr_tech", "pro_catg", "ifu",
                               "night", "ins_mode", "broken"}


def test_every_file_opens_and_matches_its_record(night_dir: Path, truth: dict) -> None:
    for rel, rec in truth["files"].items():
        with fits.open(night_dir / rel) as hdul:
            hdul.verify("exception")
            h = hdul[0].header
            assert h["INSTRUME"] == "MUSE" and h["TELESCOP"] == "ESO-VLT-U4", rel
            assert h["ESO INS MODE"] == rec["ins_mode"], rel
            if rec["kind"] == "raw":
                assert (h["ESO DPR CATG"], h["ESO DPR TYPE"], h["ESO DPR TECH"]) == (
                    rec["dpr_catg"], rec["dpr_type"], rec["dpr_tech"]), rel
                assert "ESO PRO CATG" not in h and rec["pro_catg"] is None
                assert rel == f"raw/{h['ARCFILE']}"
            else:
                assert h["ESO PRO CATG"] == rec["pro_catg"], rel
                assert "ESO DPR CATG" not in h and rec["dpr_catg"] is None
                assert rel == f"products/{h['PIPEFILE']}"
            if rec["ifu"] is not None:
                assert h["EXTNAME"] == f"CHAN{rec['ifu']:02d}", rel
                assert h["ESO DET CHIP NAME"] == f"CHAN{rec['ifu']:02d}", rel
                assert rel.endswith((f"-{rec['ifu']:02d}.fits", f"-{rec['ifu']:02d}_1.fits"))
            if rec["broken"] is None:
                start = dt.datetime.fromisoformat(h["DATE-OBS"])
                assert night_of(start).isoformat() == rec["night"] == NIGHT.isoformat(), rel


def test_products_of_the_night(truth: dict) -> None:
    catgs = {r["pro_catg"] for r in truth["files"].values() if r["kind"] == "product"}
    assert catgs == {"MASTER_BIAS", "MASTER_DARK", "MASTER_FLAT", "WAVECAL_TABLE",
                     "DATACUBE_FINAL", "IMAGE_FOV", "SPECTRUM_1D"}
    for catg in ("MASTER_BIAS", "MASTER_DARK", "MASTER_FLAT", "WAVECAL_TABLE"):
        assert sorted(r["ifu"] for r in truth["files"].values()
                      if r["pro_catg"] == catg) == list(range(1, 25))
    raw_types = {r["dpr_type"] for r in truth["files"].values() if r["kind"] == "raw"}
    assert raw_types == {"BIAS", "DARK", "FLAT,LAMP", "WAVE", "FLAT,SKY", "STD", "OBJECT"}


def test_nights_from_both_sides_of_midnight(night_dir: Path, truth: dict) -> None:
    dates = set()
    for rel in files_of(truth, kind="raw", broken=None):
        dates.add(header(night_dir / rel)["DATE-OBS"][:10])
    assert dates == {"2014-12-07", "2014-12-08"}
    for rel in files_of(truth, kind="raw", dpr_type="OBJECT"):
        start = dt.datetime.fromisoformat(header(night_dir / rel)["DATE-OBS"])
        assert start.date() == NIGHT + dt.timedelta(days=1) and start.hour < 12


def test_common_headers_and_release_dates(night_dir: Path, truth: dict) -> None:
    required = ["ORIGIN", "MJD-OBS", "EXPTIME", "OBJECT", "RA", "DEC", "PI-COI", "OBSERVER",
                "ESO OBS PROG ID", "ESO OBS ID", "ESO OBS TARG NAME", "ESO TEL AIRM START",
                "ESO TEL AIRM END", "ESO TEL AMBI FWHM START", "ESO TEL AMBI FWHM END",
                "ESO INS DROT POSANG", "RELEASE", "DATE"]
    for rel, rec in truth["files"].items():
        h = header(night_dir / rel)
        missing = [k for k in required if k not in h]
        assert not missing, (rel, missing)
        science = rec["dpr_catg"] == "SCIENCE" or rec["pro_catg"] in (
            "DATACUBE_FINAL", "IMAGE_FOV", "SPECTRUM_1D")
        assert h["RELEASE"] == ("2015-12-07" if science else "2014-12-07"), rel
        assert re.fullmatch(r"\d{3}\.A-\d{4}\([A-Z]\)" if science else r"60\.A-9100\(A\)",
                            h["ESO OBS PROG ID"]), rel
        if "DATE-OBS" in h:
            start = dt.datetime.fromisoformat(h["DATE-OBS"])
            mjd = (start - dt.datetime(1858, 11, 17)).total_seconds() / 86400
            assert h["MJD-OBS"] == pytest.approx(mjd, abs=1e-7), rel


def test_broken_header_fault(night_dir: Path, truth: dict) -> None:
    broken = fault(truth, "broken_header")
    (rel,) = broken["files"]
    assert truth["files"][rel]["broken"] == broken["reason"] == "DATE-OBS missing"
    h = header(night_dir / rel)
    assert "DATE-OBS" not in h and h["ESO DPR TYPE"] == "BIAS"
    assert len(good_biases(truth)) == SCALES["tiny"].n_bias


def test_product_provenance_names_real_files(night_dir: Path, truth: dict) -> None:
    h = header(night_dir / "products/MASTER_FLAT-03.fits")
    assert h["ESO PRO REC1 ID"] == "muse_flat"
    assert h["ESO PRO REC1 PIPE ID"] == "muse/2.8.7"
    assert h["ESO PRO REC1 DRS ID"].startswith("cpl-")
    raws = [h[f"ESO PRO REC1 RAW{j} NAME"] for j in range(1, h["ESO PRO DATANCOM"] + 1)]
    assert [f"raw/{n}" for n in raws] == truth["calibrations"]["master_flat"]["WFM-NOAO-N"][
        "raw_files"]
    assert h["ESO PRO REC1 CAL1 NAME"] == "MASTER_BIAS-03.fits"
    assert (night_dir / "products" / h["ESO PRO REC1 CAL1 NAME"]).is_file()
    cube = header(night_dir / "products/DATACUBE_FINAL_1.fits")
    assert cube["ESO PRO SCIENCE"] is True and cube["ESO PRO DATANCOM"] == 2
    assert [f"raw/{cube[f'ESO PRO REC1 RAW{j} NAME']}" for j in (1, 2)] == truth["cubes"][0][
        "raw_files"]


def test_qc_keywords_are_in_the_official_dictionary(night_dir: Path, truth: dict) -> None:
    (dic,) = Path("/usr/share/cpl-plugins").glob("muse-*/dic/ESO-DFS-DIC.MUSE_QC")
    names = re.findall(r"^Parameter Name:\s+(QC .+?)\s*$", dic.read_text(), re.M)
    patterns = [re.compile(re.sub(r"(?<=[A-Z])[ia](?=\b| )", r"\\d+", n) + "$") for n in names]
    seen = set()
    for rel in files_of(truth, kind="product"):
        for key in header(night_dir / rel):
            if key.startswith("ESO QC "):
                seen.add(key[4:])
    assert len(seen) > 300
    unknown = sorted(k for k in seen if not any(p.match(k) for p in patterns))
    assert not unknown, unknown[:10]


# ---------------------------------------------------------------------------- raw frames


def test_raw_frame_structure(night_dir: Path, truth: dict) -> None:
    rel = good_biases(truth)[0]
    with fits.open(night_dir / rel, do_not_scale_image_data=True) as hdul:
        assert len(hdul) == 25 and hdul[0].data is None
        for ifu in range(1, 25):
            ext = hdul[ifu]
            assert ext.name == f"CHAN{ifu:02d}"
            assert ext.header["BITPIX"] == 16 and ext.header["BZERO"] == 32768
            assert ext.data.shape == (LAYOUT.chan_ny, LAYOUT.chan_nx) == (208, 192)
            quads = truth["detector"]["ifus"][str(ifu)]["quadrants"]
            for q in "1234":
                assert ext.header[f"ESO DET OUT{q} GAIN"] == pytest.approx(
                    quads[q]["gain_e_per_adu"])
                assert ext.header[f"ESO DET OUT{q} RON"] == pytest.approx(quads[q]["ron_e"])
                assert ext.header[f"ESO DET OUT{q} NX"] == 64
                assert ext.header[f"ESO DET OUT{q} PRSCX"] == 16
    with fits.open(night_dir / rel) as hdul:
        assert hdul[1].data.dtype == np.uint16


@pytest.mark.parametrize("ifu", [1, 17])
def test_bias_pixels_match_truth(night_dir: Path, truth: dict, ifu: int) -> None:
    first, second = (chan_adu(night_dir, r, ifu) for r in good_biases(truth)[:2])
    quads = truth["detector"]["ifus"][str(ifu)]["quadrants"]
    for q in (1, 2, 3, 4):
        qt = quads[str(q)]
        overscan = first[LAYOUT.overscan_window(q)]
        assert overscan.mean() == pytest.approx(qt["bias_level_adu"], abs=0.5)
        diff = (first - second)[LAYOUT.data_window(q)]
        assert diff.std() / np.sqrt(2) == pytest.approx(qt["raw_bias_ron_adu"], rel=0.05)


def test_noisy_ifu_fault(night_dir: Path, truth: dict) -> None:
    noisy = fault(truth, "noisy_ifu")
    ifu = noisy["ifu"]
    first, second = (chan_adu(night_dir, r, ifu) for r in good_biases(truth)[:2])
    master = header(night_dir / f"products/MASTER_BIAS-{ifu:02d}.fits")
    for q in (1, 2, 3, 4):
        qt = truth["detector"]["ifus"][str(ifu)]["quadrants"][str(q)]
        measured = (first - second)[LAYOUT.data_window(q)].std() / np.sqrt(2)
        assert measured == pytest.approx(3 * qt["ron_adu"], rel=0.05)
        assert master[f"ESO QC BIAS MASTER{q} RON"] == pytest.approx(3 * qt["ron_e"], rel=0.05)


def test_raw_arc_lines_at_the_dispersion_of_the_wavecal_table(night_dir: Path,
                                                              truth: dict) -> None:
    arcs = sorted(files_of(truth, kind="raw", dpr_type="WAVE"))
    assert len(arcs) == 3   # one per lamp: HgCd, Ne, Xe
    arc = arcs[0]           # the HgCd lamp's
    assert header(night_dir / arc)["ESO INS LAMP1 NAME"] == "CU-LAMP-HgCd"
    assert header(night_dir / arc)["ESO INS LAMP1 ST"] and \
        not header(night_dir / arc)["ESO INS LAMP2 ST"]
    ifu = 4
    raw = chan_adu(night_dir, arc, ifu)
    with fits.open(night_dir / f"products/WAVECAL_TABLE-{ifu:02d}.fits") as hdul:
        table, h = hdul[1].data, hdul[0].header
    assert len(table) == 48 and table["SliceNo"].tolist() == list(range(1, 49))
    column = raw[LAYOUT.data_window(1)][:, slice_columns(LAYOUT, 5).start]
    brightest = int(np.argmax(column)) + 1  # 1-based row of the 5460.75 A Hg line
    row = table[4]
    assert row["wlc00"] + row["wlc01"] * (brightest - 1) == pytest.approx(5460.75,
                                                                          abs=row["wlc01"])
    wlpos, wlen = h["ESO QC WAVECAL SLICE5 WLPOS"], h["ESO QC WAVECAL SLICE5 WLEN"]
    assert row["wlc00"] + row["wlc01"] * (wlpos - 1) == pytest.approx(wlen)


# ---------------------------------------------------------------------------- masters


def test_master_bias_qc_matches_pixels_and_truth(night_dir: Path, truth: dict) -> None:
    noisy = fault(truth, "noisy_ifu")["ifu"]
    ifu = 1 if noisy != 1 else 2
    with fits.open(night_dir / f"products/MASTER_BIAS-{ifu:02d}.fits") as hdul:
        h, data = hdul[0].header, hdul["DATA"].data
        assert [x.name for x in hdul] == [f"CHAN{ifu:02d}", "DATA", "DQ", "STAT"]
    assert data.shape == LAYOUT.trimmed_shape
    for q in (1, 2, 3, 4):
        part = data[LAYOUT.trimmed_window(q)]
        qt = truth["detector"]["ifus"][str(ifu)]["quadrants"][str(q)]
        assert h[f"ESO QC BIAS MASTER{q} MEDIAN"] == pytest.approx(np.median(part), abs=1e-4)
        assert h[f"ESO QC BIAS MASTER{q} STDEV"] == pytest.approx(part.std(), rel=1e-4)
        assert h[f"ESO QC BIAS MASTER{q} RON"] == pytest.approx(qt["ron_e"], rel=0.05)
        assert h[f"ESO QC BIAS LEVEL{q} MEAN"] == pytest.approx(qt["bias_level_adu"], abs=1.0)
        assert part.std() == pytest.approx(qt["ron_adu"] / np.sqrt(5), rel=0.1)


def test_master_dark_measures_the_dark_current(night_dir: Path, truth: dict) -> None:
    ifu = 9
    with fits.open(night_dir / f"products/MASTER_DARK-{ifu:02d}.fits") as hdul:
        h, data, dq = hdul[0].header, hdul["DATA"].data, hdul["DQ"].data
    det = truth["detector"]["ifus"][str(ifu)]
    assert h["ESO QC DARK MASTER DC"] == pytest.approx(np.median(data[dq == 0]), rel=1e-5)
    assert h["ESO QC DARK MASTER DC"] == pytest.approx(det["dark_current_e_per_pix_per_h"],
                                                       abs=0.1)
    assert h["ESO QC DARK MASTER NBADPIX"] == np.count_nonzero(dq)
    for row, col, _rate in det["hot_pixels"]:
        assert dq[row, col] == 256


def test_master_flat_slices(night_dir: Path, truth: dict) -> None:
    ifu = 11
    with fits.open(night_dir / f"products/MASTER_FLAT-{ifu:02d}.fits") as hdul:
        h, data = hdul[0].header, hdul["DATA"].data
    assert data.mean() == pytest.approx(1.0, rel=1e-5)
    injected = truth["calibrations"]["master_flat"]["WFM-NOAO-N"]["per_ifu"][str(ifu)][
        "injected_slice_level_e"]
    rows = slice_qc_rows(LAYOUT)
    for j in (1, 17, 48):
        qc = h[f"ESO QC FLAT MASTER SLICE{j} MEAN"]
        assert qc / h["ESO QC FLAT MASTER MEAN"] == pytest.approx(
            data[rows, slice_columns(LAYOUT, j)].mean(), rel=1e-4)
        assert qc == pytest.approx(injected[j - 1], rel=0.01)


def test_dead_slice_fault(night_dir: Path, truth: dict) -> None:
    dead = fault(truth, "dead_slice")
    ifu, j = dead["ifu"], dead["slice"]
    h = header(night_dir / f"products/MASTER_FLAT-{ifu:02d}.fits")
    means = [h[f"ESO QC FLAT MASTER SLICE{i} MEAN"] for i in range(1, 49)]
    assert means[j - 1] < 0.02 * np.median(means)
    assert sorted(means)[1] > 0.5 * np.median(means)  # only one slice is dark
    raw = chan_adu(night_dir, dead["files"][0], ifu)
    trimmed = np.empty(LAYOUT.trimmed_shape)
    for q in (1, 2, 3, 4):
        trimmed[LAYOUT.trimmed_window(q)] = raw[LAYOUT.data_window(q)]
    lit = trimmed[slice_qc_rows(LAYOUT), slice_columns(LAYOUT, j)].mean()
    assert lit < trimmed.mean() * 0.1


def test_saturated_flat_fault(night_dir: Path, truth: dict) -> None:
    sat = fault(truth, "saturated_flat")
    ifu = sat["ifu"]
    for rel in sat["files"][:-1]:
        with fits.open(night_dir / rel) as hdul:
            assert np.count_nonzero(hdul[f"CHAN{ifu:02d}"].data == 65535) > 50
            assert np.count_nonzero(hdul[f"CHAN{(ifu % 24) + 1:02d}"].data == 65535) == 0
    with fits.open(night_dir / sat["files"][-1]) as hdul:
        h, dq = hdul[0].header, hdul["DQ"].data
    r0, r1 = sat["trimmed_rows"]
    c0, c1 = sat["trimmed_cols"]
    assert h["ESO QC FLAT MASTER NSATURATED"] == np.count_nonzero(dq == 4096) > 0
    assert np.all(dq[r0:r1, c0:c1][:, 2:-2] == 4096)
    assert h["ESO QC FLAT INPUT1 NSATURATED"] > 0
    other = header(night_dir / f"products/MASTER_FLAT-{(ifu % 24) + 1:02d}.fits")
    assert other["ESO QC FLAT MASTER NSATURATED"] == 0


# ---------------------------------------------------------------------------- science


def test_cube_structure_and_wavelength_axis(night_dir: Path, truth: dict) -> None:
    cube = truth["cubes"][0]
    with fits.open(night_dir / cube["file"]) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "DATA", "STAT", "DQ"]
        assert hdul["DATA"].data.shape == (3681, 24, 24)
        assert hdul["DQ"].data.dtype == np.uint8
        data_header = hdul["DATA"].header
        flagged = np.argwhere(hdul["DQ"].data != 0).tolist()
    wcs = WCS(data_header)
    assert wcs.wcs.ctype[2] == "AWAV"
    waves = wcs.pixel_to_world_values([0, 0, 0], [0, 0, 0], [0, 1, 3680])[2] * 1e10
    assert waves == pytest.approx([4750.0, 4751.25, 9350.0])
    scale = np.sqrt(abs(np.linalg.det(wcs.celestial.pixel_scale_matrix))) * 3600
    assert scale == pytest.approx(0.2)
    assert sorted(flagged) == sorted(cube["flagged_voxels"])


def test_cube_noise_matches_stat(night_dir: Path, truth: dict) -> None:
    cube = truth["cubes"][0]
    with fits.open(night_dir / cube["file"]) as hdul:
        data, stat = hdul["DATA"].data[2000:2400], hdul["STAT"].data[2000:2400]
    with fits.open(night_dir / cube["file"].replace("DATACUBE_FINAL", "IMAGE_FOV")) as hdul:
        white = hdul["DATA"].data
    empty = white < np.percentile(white, 30)  # spaxels far from every source
    pulls = (data - np.nanmedian(data, axis=0)) / np.sqrt(stat)
    assert np.nanstd(pulls[:, empty]) == pytest.approx(1.0, rel=0.08)


def fit_moffat_center(image: np.ndarray, guess: tuple[float, float], fwhm_px: float
                      ) -> np.ndarray:
    """(x, y) of a Moffat (beta 2.5, known FWHM) plus a constant, by least squares on a
    fine grid of centres around ``guess`` -- unbiased, unlike a windowed centroid."""
    from qcservice.simulate.cube import moffat

    x0, y0 = round(guess[0]), round(guess[1])
    gy, gx = np.mgrid[y0 - 4:y0 + 5, x0 - 4:x0 + 5]
    inside = (gx >= 0) & (gy >= 0) & (gx < image.shape[1]) & (gy < image.shape[0])
    values = image[gy[inside], gx[inside]]
    steps = np.arange(-0.8, 0.8001, 0.01)
    cx, cy = (a.ravel() for a in np.meshgrid(guess[0] + steps, guess[1] + steps))
    r2 = (gx[inside][None] - cx[:, None]) ** 2 + (gy[inside][None] - cy[:, None]) ** 2
    psf = moffat(r2, fwhm_px)
    psf_c = psf - psf.mean(axis=1, keepdims=True)
    val_c = values - values.mean()
    amp = (psf_c @ val_c) / (psf_c * psf_c).sum(axis=1)
    chi2 = ((val_c[None] - amp[:, None] * psf_c) ** 2).sum(axis=1)
    best = int(np.argmin(chi2))
    return np.array([cx[best], cy[best]])


def test_star_psf_and_drift_follow_truth(night_dir: Path, truth: dict) -> None:
    cube = truth["cubes"][0]
    star = max((s for s in cube["sources"] if s["kind"] == "star"), key=lambda s: s["flux_7000"])
    with fits.open(night_dir / cube["file"]) as hdul:
        data = hdul["DATA"].data
    psf = cube["psf"]

    def center(lo: int, hi: int) -> np.ndarray:
        wave = 4750 + 1.25 * (lo + hi) / 2
        fwhm_px = psf["fwhm_7000_arcsec"] * (wave / 7000) ** psf["alpha"] / 0.2
        return fit_moffat_center(np.nanmean(data[lo:hi], axis=0), (star["x"], star["y"]),
                                 fwhm_px)

    drift = np.array([cube["drift"]["dx_per_1000a_spaxel"], cube["drift"]["dy_per_1000a_spaxel"]])
    red, blue = center(3200, 3600), center(0, 400)  # around 9000 A and 5000 A
    assert red - blue == pytest.approx(drift * 4.0, abs=0.05)
    assert center(1780, 1820) == pytest.approx([star["x"], star["y"]], abs=0.05)  # 7000 A
    samples = cube["psf"]["samples_arcsec"]
    assert samples["9000"] / samples["5000"] == pytest.approx((9000 / 5000) ** -0.2, rel=1e-3)
    h = header(night_dir / cube["file"])
    stars = [s for s in cube["sources"] if s["kind"] == "star"]
    assert h["ESO QC SCIPOST NDET"] == len(stars)
    # measured on the 7000 A planes written, as the pipeline does: near the truth, with
    # the scatter of a measurement (not copies of the truth)
    fwhm = [h[f"ESO QC SCIPOST FWHM{i} {a}"] for i in range(1, len(stars) + 1) for a in "XY"]
    assert np.median(fwhm) == pytest.approx(cube["psf"]["fwhm_7000_arcsec"], rel=0.1)
    assert len(set(fwhm)) == len(fwhm)
    assert h["ESO QC SCIPOST POS1 X"] == pytest.approx(stars[0]["x"] + 1, abs=0.5)
    assert h["ESO QC SCIPOST POS1 X"] != pytest.approx(stars[0]["x"] + 1, abs=1e-3)


def test_spectra_are_aperture_sums_of_the_cube(night_dir: Path, truth: dict) -> None:
    cube = truth["cubes"][0]
    with fits.open(night_dir / cube["file"]) as hdul:
        data, stat = hdul["DATA"].data, hdul["STAT"].data
    radius = cube["spectrum_aperture_radius_spaxel"]
    for src in cube["sources"]:
        with fits.open(night_dir / src["spectrum_file"]) as hdul:
            h, table = hdul[0].header, hdul["SPECTRUM"].data
        assert h["ESO PRO CATG"] == "SPECTRUM_1D" and h["PRODCATG"] == "SCIENCE.SPECTRUM"
        assert h["OBJECT"] == src["name"] and h["RA"] == pytest.approx(src["ra"])
        gy, gx = np.mgrid[0:24, 0:24]
        mask = np.hypot(gx - src["x"], gy - src["y"]) <= radius
        plane = 1800
        assert table["FLUX"][0][plane] == pytest.approx(np.nansum(data[plane][mask]), rel=1e-4)
        assert table["ERR"][0][plane] == pytest.approx(np.sqrt(np.nansum(stat[plane][mask])),
                                                       rel=1e-4)
        assert table["WAVE"][0][plane] == pytest.approx(4750 + 1.25 * plane)


def test_emission_line_galaxy_shows_its_lines(night_dir: Path, truth: dict) -> None:
    cube = truth["cubes"][0]
    (elg,) = [s for s in cube["sources"] if s["kind"] == "emission_line_galaxy"]
    with fits.open(night_dir / elg["spectrum_file"]) as hdul:
        flux, err = hdul["SPECTRUM"].data["FLUX"][0], hdul["SPECTRUM"].data["ERR"][0]
    line = 6562.80 * (1 + elg["redshift"])
    plane = round((line - 4750) / 1.25)
    peak = flux[plane - 2:plane + 3].max() - np.median(flux[plane - 40:plane + 40])
    assert peak > 5 * err[plane]


def test_bad_sky_subtraction_fault(night_dir: Path, truth: dict) -> None:
    bad = fault(truth, "bad_sky_subtraction")
    rms = {}
    for cube in truth["cubes"]:
        with fits.open(night_dir / cube["file"]) as hdul:
            data = hdul["DATA"].data
        residual = 0.0
        for line in (5577.34, 8344.60, 8827.10, 8958.09):  # strong sky lines
            on = round((line - 4750) / 1.25)
            continuum = np.nanmedian(data[on - 30:on - 10], axis=0)
            residual = residual + (data[on - 1:on + 2] - continuum).sum(axis=0)
        rms[cube["file"]] = np.nanstd(np.nanmedian(residual, axis=1))  # across IFU rows
        assert cube["sky_residual"]["bad"] == (cube["file"] in bad["files"])
    (bad_file,) = bad["files"]
    good = [v for k, v in rms.items() if k != bad_file]
    assert rms[bad_file] > 8 * max(good)


# ---------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes_other_seed_differs(night_dir: Path, tmp_path: Path) -> None:
    again = simulate_night(tmp_path / "again", NIGHT, "tiny", "WFM-NOAO-N", SEED).directory
    other = simulate_night(tmp_path / "other", NIGHT, "tiny", "WFM-NOAO-N", SEED + 1).directory
    names = sorted(str(p.relative_to(night_dir)) for p in night_dir.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(again)) for p in again.rglob("*") if p.is_file())
    for name in names:
        assert (night_dir / name).read_bytes() == (again / name).read_bytes(), name
    cube = "products/DATACUBE_FINAL_1.fits"
    assert (night_dir / cube).read_bytes() != (other / cube).read_bytes()
    first_other = sorted((other / "raw").iterdir())[0]
    assert first_other.name not in {p.name for p in (night_dir / "raw").iterdir()}
