"""Storage accounting over a real catalogue (a simulated night and the real minicube):
the totals are the sum of the catalogued sizes, every breakdown adds up to them, and the
growth is read against the plan (16 TB final, 100 TB working space over 3 years)."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from qcservice.ancillary.register import register_files
from qcservice.cli import main
from qcservice.config import Settings
from qcservice.ingest.runner import ingest_paths
from qcservice.simulate import simulate_night
from qcservice.storage import DIMENSIONS, PLAN_BYTES, storage_report
from qcservice.users import add_user
from qcservice.viewer import create_app


@pytest.fixture
def catalogue(engine: Engine, minicube: Path, hst_cutout: Path, tmp_path: Path) -> Path:
    simulate_night(tmp_path / "sim", "2024-03-10", scale="tiny", seed=3, workers=1)
    shutil.copy(minicube, tmp_path / "sim" / "minicube.fits")
    report = ingest_paths(engine, [tmp_path / "sim"], workers=1, checksum=False)
    assert report.new > 100  # the night's deliberate faults are refused, the rest taken
    shutil.copy(hst_cutout, tmp_path / "hst.fits")
    register_files(engine, [tmp_path / "hst.fits"], "HST-A478")
    return tmp_path


def _catalogued(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*), sum(size_bytes), sum(size_bytes) FILTER (WHERE file_id IN "
            "(SELECT file_id FROM qc.products WHERE pro_catg IN "
            "('DATACUBE_FINAL', 'IMAGE_FOV', 'SPECTRUM_1D'))) FROM qc.files")).one()


def test_totals_are_the_catalogued_sizes(engine: Engine, catalogue: Path) -> None:
    n, size, final = _catalogued(engine)
    with engine.connect() as conn:
        paths = conn.execute(text("SELECT path FROM qc.files")).scalars().all()
    assert size == sum(Path(p).stat().st_size for p in paths)  # what is on disk
    with engine.connect() as conn:
        report = storage_report(conn, as_of=dt.date(2025, 3, 10))
    assert (report.total.files, report.total.size, report.total.final) == (n, size, final)
    assert report.total.final + report.total.working == size
    for dim in DIMENSIONS:
        parts = report.by[dim].values()
        assert sum(v.size for v in parts) == size, dim
        assert sum(v.files for v in parts) == n, dim
    assert set(report.by["year"]) == {"2014", "2024"}  # the minicube is of 2014
    assert report.by["programme"]["094.A-0859(A)"].size == (catalogue / "sim" /
                                                            "minicube.fits").stat().st_size
    assert "final DATACUBE_FINAL" in report.by["category"]
    assert report.ancillary.files == 1
    assert report.ancillary.size == (catalogue / "hst.fits").stat().st_size


def test_growth_against_the_plan(engine: Engine, catalogue: Path) -> None:
    with engine.connect() as conn:
        report = storage_report(conn, start=dt.date(2024, 1, 1), as_of=dt.date(2025, 7, 2))
    g = report.growth
    assert g.elapsed == pytest.approx(548 / (3 * 365.25))
    assert g.planned["final"] == pytest.approx(16e12 * g.elapsed)
    assert g.planned["working"] == pytest.approx(100e12 * g.elapsed)
    assert g.actual["final"] == report.total.final
    assert g.projected["working"] == pytest.approx(report.total.working / g.elapsed)
    with engine.connect() as conn:
        late = storage_report(conn, start=dt.date(2014, 12, 7), as_of=dt.date(2024, 3, 11))
    assert late.growth.planned == {k: float(v) for k, v in PLAN_BYTES.items()}  # capped
    with engine.connect() as conn:
        default = storage_report(conn)
    assert default.growth.start == dt.date(2014, 12, 7)  # the first night catalogued


def test_cli_report(cli_env: dict, engine: Engine, catalogue: Path) -> None:
    n, size, _ = _catalogued(engine)
    runner = CliRunner()
    out = runner.invoke(main, ["storage", "--as-of", "2025-03-10"], env=cli_env)
    assert out.exit_code == 0, out.output
    assert f"{n} files" in out.output and f"total {size} bytes" in out.output
    for heading in ("By category:", "By night:", "By programme:", "By year:",
                    "Plan: 16.00 TB of final products and 100.00 TB of working space"):
        assert heading in out.output
    as_json = json.loads(runner.invoke(main, ["storage", "--json"], env=cli_env).output)
    assert as_json["total"]["size"] == size
    assert sum(v["size"] for v in as_json["by"]["night"].values()) == size
    assert as_json["plan"] == {"years": 3, "final": 16 * 10**12, "working": 100 * 10**12}
    only = runner.invoke(main, ["storage", "--by", "year"], env=cli_env).output
    assert "By year:" in only and "By night:" not in only
    bad = runner.invoke(main, ["storage", "--by", "weekday"], env=cli_env)
    assert bad.exit_code == 2 and "unknown breakdown weekday" in bad.output
    empty = runner.invoke(main, ["storage", "--project", "GTO-DRYRUN"], env=cli_env)
    assert "0 files, 0 B" in empty.output


def test_viewer_page(settings: Settings, engine: Engine, catalogue: Path) -> None:
    n, size, _ = _catalogued(engine)
    with engine.begin() as conn:
        add_user(conn, "reader", "reader", "storage-pw-1")
    client = create_app(settings, engine, {"TESTING": True}).test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": "reader", "password": "storage-pw-1",
                                "csrf_token": token})
    page = client.get("/storage?as_of=2025-03-10").get_data(as_text=True)
    total = re.search(r'id="storage-total" data-bytes="(\d+)" data-files="(\d+)"', page)
    assert (int(total.group(1)), int(total.group(2))) == (size, n)
    nights = re.search(r'id="by-night">(.*?)</table>', page, re.S).group(1)
    assert sum(int(b) for b in re.findall(r'data-bytes="(\d+)"', nights)) == size
    assert "2024-03-10" in nights and "storage-growth" in page
