"""The viewer over a simulated tiny night, catalogued by the real ingest."""

from __future__ import annotations

import json
import struct
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


def test_products_show_themselves_and_every_category_is_reachable(settings, engine: Engine,
                                                                  tiny_night: Path):
    """A simulated night's spectra are plotted with their error, its white-light image is
    shown, and STD frames, images and spectra have summary columns of their own."""
    ingest_paths(engine, [tiny_night], workers=1, checksum=False)
    with engine.begin() as conn:
        add_user(conn, "boss", "admin", PASSWORD)
        ids = dict(conn.execute(text(
            "SELECT pro_catg, min(file_id) FROM qc.products "
            "WHERE pro_catg IN ('SPECTRUM_1D', 'IMAGE_FOV') GROUP BY pro_catg")).all())
    client = create_app(settings, engine, {"TESTING": True}).test_client()
    login(client, "boss")
    summary = client.get("/").get_data(as_text=True)
    for cat in ("std_raw", "image_fov", "spectrum_1d"):
        assert f'/night/2024-03-10/{cat}">' in summary, cat
        listed = client.get(f"/night/2024-03-10/{cat}").get_data(as_text=True)
        assert listed.count("/file/") >= 1, cat
    page = client.get(f"/file/{ids['SPECTRUM_1D']}").get_data(as_text=True)
    data = json.loads(page[page.index('id="page-data">') + 15:page.index("</script>",
                                                                      page.index('id="page-data"'))])
    spec = data["spectrum"]
    assert len(spec["x"]) == len(spec["y"]) == len(spec["err"]) > 1000
    assert spec["x_unit"] == "Angstrom" and 4700 < spec["x"][0] < spec["x"][-1] < 9400
    assert all(e is None or e > 0 for e in spec["err"]) and 'id="spectrum-plot"' in page
    image = client.get(f"/file/{ids['IMAGE_FOV']}/image.png")
    assert image.status_code == 200 and image.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get(f"/file/{ids['SPECTRUM_1D']}/image.png").status_code == 404
    with engine.connect() as conn:
        science = conn.execute(text("SELECT min(file_id) FROM qc.raw_frames "
                                    "WHERE dpr_catg = 'SCIENCE'")).scalar()
    assert 'id="raw-preview"' in client.get(f"/file/{science}").get_data(as_text=True)
    mosaic = client.get(f"/file/{science}/preview.png")     # QC gives science frames none
    assert mosaic.status_code == 200 and mosaic.data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", mosaic.data[16:24])
    assert width > height and width % 6 == 0 and height % 4 == 0    # 6 x 4 IFUs
    assert client.get(f"/file/{ids['IMAGE_FOV']}/preview.png").status_code == 404
