"""The viewer over a simulated tiny night, catalogued by the real ingest."""

from __future__ import annotations

import json
import re
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


def test_psf_stars_are_named_by_the_sources_extracted_from_the_cube(settings, engine: Engine,
                                                                    tiny_night: Path):
    """QC's PSF stars S1, S2, ... are its own numbering: the PSF tab says which extracted
    source (spectrum OBJECT, named ...-S01 and so on by the simulator) each one is."""
    from qcservice.qc.cubeqc import cube_qc
    from qcservice.simulate import load_truth

    ingest_paths(engine, [tiny_night], workers=1, checksum=False)
    truth = load_truth(tiny_night)
    with engine.begin() as conn:
        add_user(conn, "boss", "admin", PASSWORD)
        cube, path = conn.execute(text(
            "SELECT file_id, path FROM qc.products p JOIN qc.files f USING (file_id) "
            "WHERE pro_catg = 'DATACUBE_FINAL' AND filename = 'DATACUBE_FINAL_1.fits'")).one()
        for m in cube_qc(path, None).metrics:
            if m.name.startswith("psf.star_"):
                conn.execute(text("INSERT INTO qc.metrics (file_id, subunit, name, value, "
                                  "unit, source) VALUES (:f, :s, :n, :v, :u, 'computed')"),
                             {"f": cube, "s": m.subunit, "n": m.name, "v": m.value,
                              "u": m.unit})
    sources = {s["name"]: s for c in truth["cubes"] for s in c["sources"]}
    client = create_app(settings, engine, {"TESTING": True}).test_client()
    login(client, "boss")
    page = client.get(f"/cube/{cube}?tab=psf").get_data(as_text=True)
    table = page[page.index('id="stars"'):page.index("</table>", page.index('id="stars"'))]
    named = re.findall(r'<td class="star-source">([^ <]+) <small>[^<]*</small></td>'
                       r"<td>([-0-9.]+)</td><td>([-0-9.]+)</td>", table)
    assert named, table                  # the tiny scene's stars are found and named
    for name, x, y in named:             # through the WCS, at the simulated position
        assert abs(float(x) - sources[name]["x"]) < 1 and abs(float(y) - sources[name]["y"]) < 1
    assert any(sources[n]["kind"] == "star" for n, _, _ in named)
    assert "RA, Dec" in table and "its own numbering" in page
