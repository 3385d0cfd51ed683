"""Ancillary data against the real PostgreSQL (pgSphere): the real HST cutout of Abell 478
overlaps the real MUSE minicube and not a simulated cube elsewhere; the real redshift
catalogue of the field too; reruns keep one row; bad files are named with the reason."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from astropy.io import fits
from click.testing import CliRunner
from sqlalchemy import Engine, text
from support import abell478_field

from qcservice.ancillary.footprint import FootprintError, catalogue_footprint
from qcservice.ancillary.overlap import for_product, product_footprint
from qcservice.ancillary.register import Rights, register_files
from qcservice.cli import main
from qcservice.simulate import simulate_night


@pytest.fixture(scope="module")
def sim_night(tmp_path_factory) -> Path:
    """A simulated night (its cubes point elsewhere than Abell 478)."""
    folder = tmp_path_factory.mktemp("night")
    simulate_night(folder, "2024-03-10", scale="tiny", seed=3, workers=1)
    return folder


@pytest.fixture
def field(engine: Engine, minicube: Path, hst_cutout: Path, sim_night: Path,
          tmp_path: Path) -> dict[str, object]:
    """The minicube and the simulated night catalogued; copies of the HST cutout and of
    mpdaf's catalogue of the field in a folder of their own."""
    cubes = [p for p in sim_night.rglob("DATACUBE_FINAL_*.fits")]
    anc = abell478_field(engine, minicube, hst_cutout, cubes, tmp_path, "a478-redshifts.txt")
    with engine.connect() as conn:
        ids = dict(conn.execute(text("SELECT filename, file_id FROM qc.files")).all())
    return {"anc": anc, "minicube": ids["minicube.fits"],
            "elsewhere": ids["DATACUBE_FINAL_1.fits"]}


def _rows(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(text("SELECT anc_id, collection, filename, kind, instrument, band, "
                                 "n_rows FROM qc.ancillary ORDER BY anc_id")).all()


@pytest.mark.slow
def test_hst_cutout_overlaps_the_minicube_only(engine: Engine, field: dict) -> None:
    hst = field["anc"] / "a478hst-cutout.fits"
    [outcome] = register_files(engine, [hst], "HST-A478")
    assert outcome.action == "registered", outcome.describe()
    assert [r[1:] for r in _rows(engine)] == [
        ("HST-A478", "a478hst-cutout.fits", "image", "WFPC2", "F814W", None)]
    with engine.connect() as conn:
        assert product_footprint(conn, field["elsewhere"]) is not None  # it has a footprint
        on_minicube = for_product(conn, field["minicube"], None)
        elsewhere = for_product(conn, field["elsewhere"], None)
    assert [a["filename"] for a in on_minicube] == ["a478hst-cutout.fits"]
    assert on_minicube[0]["checksum"].startswith("sha256:")
    assert elsewhere == []


def test_catalogue_footprint_from_its_sources(engine: Engine, field: dict) -> None:
    cat = field["anc"] / "a478-redshifts.txt"
    [outcome] = register_files(engine, [cat], "A478-Z")
    assert outcome.action == "registered", outcome.describe()
    assert [r[3:] for r in _rows(engine)] == [("catalogue", None, None, 8)]
    with engine.connect() as conn:
        assert [a["filename"] for a in for_product(conn, field["minicube"], None)] == [
            "a478-redshifts.txt"]
        assert for_product(conn, field["elsewhere"], None) == []


def test_registering_again_keeps_one_row(engine: Engine, field: dict) -> None:
    hst = field["anc"] / "a478hst-cutout.fits"
    first = register_files(engine, [hst], "HST-A478")[0]
    again = register_files(engine, [hst], "HST-A478")[0]
    assert again.action == "unchanged" and again.anc_id == first.anc_id
    os.utime(hst, (1e9, 1e9))
    touched = register_files(engine, [hst], "HST-A478")[0]
    assert touched.action == "updated" and touched.anc_id == first.anc_id
    moved = register_files(engine, [hst], "HST-ARCHIVE")[0]
    assert moved.anc_id == first.anc_id and "moved from collection HST-A478" in moved.message
    assert [r[:2] for r in _rows(engine)] == [(first.anc_id, "HST-ARCHIVE")]


def test_bad_files_are_named_and_the_others_go_on(engine: Engine, field: dict,
                                                  tmp_path: Path) -> None:
    anc = field["anc"]
    (anc / "notes.csv").write_text("name,flux\na,1\n")
    fits.PrimaryHDU(data=[[1.0, 2.0], [3.0, 4.0]]).writeto(anc / "nowcs.fits")
    (anc / "broken.fits").write_bytes(b"SIMPLE  =                    T" + b" " * 50)
    (anc / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    names = ["notes.csv", "nowcs.fits", "broken.fits", "photo.jpg", "missing.fits",
             "a478hst-cutout.fits"]
    outcomes = {Path(o.path).name: o for o in register_files(engine, [anc / n for n in names],
                                                             "MIXED")}
    assert outcomes["a478hst-cutout.fits"].action == "registered"
    reasons = {n: o.message for n, o in outcomes.items() if o.action == "failed"}
    assert set(reasons) == set(names) - {"a478hst-cutout.fits"}
    for name, message in reasons.items():
        assert str(anc / name) in message, message
    assert "no RA column" in reasons["notes.csv"] and "columns are name, flux" in reasons[
        "notes.csv"]
    assert "celestial WCS" in reasons["nowcs.fits"]
    assert "cannot be read" in reasons["broken.fits"]
    assert "unknown kind of file" in reasons["photo.jpg"]
    assert "does not exist" in reasons["missing.fits"]
    assert len(_rows(engine)) == 1


def test_catalogue_box_across_zero_hours() -> None:
    corners = catalogue_footprint([359.99, 0.01, 0.005], [-1.0, -1.001, -0.999])
    ras = sorted(r for r, _ in corners)
    assert ras[0] < 0.02 and ras[-1] > 359.98  # the short way round, not 0..360
    with pytest.raises(FootprintError, match="declinations outside"):
        catalogue_footprint([10.0], [95.0])


def test_cli_add_list_remove(cli_env: dict, engine: Engine, field: dict) -> None:
    runner = CliRunner()
    hst = str(field["anc"] / "a478hst-cutout.fits")
    done = runner.invoke(main, ["ancillary", "add", hst, str(field["anc"] / "nope.fits"),
                                "--collection", "HST-A478"], env=cli_env)
    assert done.exit_code == 1
    assert "registered" in done.output and "1 files registered or up to date, 1 failed" \
        in done.output and "nope.fits: does not exist" in done.output
    listed = runner.invoke(main, ["ancillary", "list", "--overlapping",
                                  str(field["minicube"])], env=cli_env)
    assert listed.exit_code == 0 and "a478hst-cutout.fits" in listed.output
    assert "WFPC2 F814W" in listed.output
    none = runner.invoke(main, ["ancillary", "list", "--overlapping",
                                str(field["elsewhere"])], env=cli_env)
    assert "no ancillary data overlaps it" in none.output
    bad = runner.invoke(main, ["ancillary", "add", hst, "--collection", "no spaces"],
                        env=cli_env)
    assert bad.exit_code == 1 and "not a collection name" in bad.output
    gone = runner.invoke(main, ["ancillary", "remove", hst], env=cli_env)
    assert gone.exit_code == 0 and _rows(engine) == []
    assert Path(hst).is_file()


def test_proprietary_rights_need_group_and_date(engine: Engine, field: dict) -> None:
    hst = field["anc"] / "a478hst-cutout.fits"
    from qcservice.ancillary.reader import AncillaryError

    with pytest.raises(AncillaryError, match="go together"):
        register_files(engine, [hst], "HST", Rights("GTO", None))
    with pytest.raises(AncillaryError, match="no group 'NOPE'"):
        register_files(engine, [hst], "HST", Rights("NOPE", dt.date(2099, 1, 1)))
    [done] = register_files(engine, [hst], "HST", Rights("GTO", dt.date(2099, 1, 1)))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT release_date FROM qc.ancillary")).scalar() == \
            dt.date(2099, 1, 1)
        assert for_product(conn, field["minicube"], None)  # the operators' view: all
    assert done.action == "registered"
