"""VO settings and the staging rules that need no server."""

from __future__ import annotations

import datetime as dt

import pytest

from qcservice.config import ConfigError, load_settings
from qcservice.vo.config import DEFAULT_PORT, load_vo_config
from qcservice.vo.instance import dsn
from qcservice.vo.stage import _geometry, acl_group, embargo


def test_defaults_and_environment(tmp_path):
    settings = load_settings({}, home=str(tmp_path))
    vo = load_vo_config(settings, {})
    assert vo.port == DEFAULT_PORT and vo.publishable == ("Pass", "Usable")
    assert vo.tap_url == f"http://localhost:{DEFAULT_PORT}/tap" and vo.root == tmp_path / "vo"
    vo = load_vo_config(settings, {"MUSEDC_VO_PORT": "9999", "MUSEDC_VO_PUBLISHABLE": "Pass"})
    assert vo.port == 9999 and vo.publishable == ("Pass",)
    with pytest.raises(ConfigError):
        load_vo_config(settings, {"MUSEDC_VO_PUBLISHABLE": "Great"})
    with pytest.raises(ConfigError):
        load_vo_config(settings, {"MUSEDC_VO_PORT": "http"})


def test_health_is_checked_locally_not_at_the_public_url(tmp_path):
    settings = load_settings({}, home=str(tmp_path))
    vo = load_vo_config(settings, {"MUSEDC_VO_SERVER_URL": "https://vo.example.org",
                                   "MUSEDC_VO_BIND": "0.0.0.0", "MUSEDC_VO_PORT": "8091"})
    assert vo.tap_url == "https://vo.example.org/tap"
    assert vo.local_url == "http://127.0.0.1:8091"
    vo = load_vo_config(settings, {"MUSEDC_VO_BIND": "10.1.2.3"})
    assert vo.local_url == f"http://10.1.2.3:{DEFAULT_PORT}"


def test_dsn_from_an_external_url(tmp_path):
    settings = load_settings({}, home=str(tmp_path),
                             database_url="postgresql://u:p@db.example:5433/muse")
    assert dsn(settings) == "host='db.example' port='5433' dbname='muse' user='u' password='p'"


def test_embargo_and_access_group():
    today = dt.date(2026, 1, 1)
    assert embargo(dt.date(2027, 1, 1), today) == "2027-01-01"
    assert embargo(today, today) is None and embargo(dt.date(2020, 1, 1), today) is None
    assert acl_group(7, 1, 2) == "acl_7_1_2" and acl_group(None, 1, 3) == "acl_0_1_3"


def test_geometry_of_a_muse_cube_header():
    header = {"NAXIS": 3, "NAXIS1": 24, "NAXIS2": 24, "NAXIS3": 3681, "CTYPE1": "RA---TAN",
              "CTYPE2": "DEC--TAN", "CRPIX1": 12.5, "CRPIX2": 12.5, "CRVAL1": 105.2,
              "CRVAL2": -35.0, "CD1_1": -0.2 / 3600, "CD2_2": 0.2 / 3600, "CRVAL3": 4750.0,
              "CRPIX3": 1.0, "CD3_3": 1.25}
    geo = _geometry(header)
    assert len(geo["corners"]) == 4 and geo["em_xel"] == 3681
    assert geo["em_min"] == pytest.approx(4.75e-7) and geo["em_max"] == pytest.approx(9.35e-7)
    assert geo["s_pixel_scale"] == pytest.approx(0.2)


def test_geometry_leaves_the_process_warning_filters_alone():
    """Staging silences astropy's WCS warnings inside its own block only: the process's
    filters (pytest's, an operator's -W) are the same afterwards, for a usable WCS and
    for a header without one."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        before = list(warnings.filters)
        _geometry({"NAXIS": 2, "NAXIS1": 4, "NAXIS2": 4, "CTYPE1": "RA---TAN",
                   "CTYPE2": "DEC--TAN", "CRVAL1": 10.0, "CRVAL2": 5.0, "CD1_1": -1e-4,
                   "CD2_2": 1e-4, "CRPIX1": 2.0, "CRPIX2": 2.0, "DATE-OBS": "2024-03-10"})
        _geometry({"NAXIS": 2, "NAXIS1": 4, "NAXIS2": 4, "CTYPE1": "RA---XYZ"})
        assert warnings.filters == before
