"""The viewer over a simulated tiny night, catalogued by the real ingest."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from viewer_support import PASSWORD, login

from qcservice.ingest.runner import ingest_paths
from qcservice.simulate import simulate_night
from qcservice.users import add_user
from qcservice.viewer import create_app


@pytest.fixture(scope="module")
def tiny_night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("viewer-sim")
    return simulate_night(out, "2024-03-10", scale="tiny", modes=("WFM-NOAO-N",),
                          seed=11).directory


def test_summary_matches_the_catalogue(settings, engine: Engine, tiny_night: Path):
    report = ingest_paths(engine, [tiny_night], workers=1, checksum=False)
    assert report.new > 0
    with engine.begin() as conn:
        add_user(conn, "boss", "admin", PASSWORD)
        expected = dict(conn.execute(text("""
            SELECT cat, count(*) FROM (
                SELECT qc.viewer_raw_category(dpr_catg, dpr_type) AS cat FROM qc.raw_frames
                UNION ALL
                SELECT qc.viewer_product_category(pro_catg) FROM qc.products) x
            WHERE cat IS NOT NULL GROUP BY cat""")).all())
        cube = conn.execute(text("SELECT file_id FROM qc.products "
                                 "WHERE pro_catg = 'DATACUBE_FINAL' LIMIT 1")).scalar()
        bias = conn.execute(text("SELECT file_id FROM qc.raw_frames "
                                 "WHERE dpr_type = 'BIAS' LIMIT 1")).scalar()
    assert {"bias_raw", "bias_red", "science_raw"} <= set(expected)
    client = create_app(settings, engine, {"TESTING": True}).test_client()
    login(client, "boss")
    page = client.get("/").get_data(as_text=True)
    for cat, n in expected.items():
        assert f'/{cat}">{n}</a>' in page, cat
    night = client.get("/night/2024-03-10/bias_raw").get_data(as_text=True)
    assert night.count("/file/") == expected["bias_raw"]
    assert client.get(f"/file/{bias}").status_code == 200
    if cube is not None:
        assert client.get(f"/cube/{cube}").status_code == 200
    assert client.get("/night/2024-03-10/calib/MASTER_BIAS").status_code == 200
