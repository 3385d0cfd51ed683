"""One real DaCHS for the VO tests: a simulated night plus the real MUSE minicube,
catalogued in a database of its own in the session's PostgreSQL, QA states set,
one cube and one spectrum embargoed, two users, published and served on a free port."""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy import Engine, create_engine, text
from support import free_port, open_tempdir
from vo_support import EMBARGO, PASSWORD
from werkzeug.security import generate_password_hash

from qcservice.config import Settings, load_settings
from qcservice.db.cluster import EmbeddedCluster
from qcservice.ingest.runner import ingest_paths
from qcservice.simulate import simulate_night
from qcservice.viewer.server import start_viewer
from qcservice.vo.config import load_vo_config
from qcservice.vo.instance import Instance
from qcservice.vo.publish import PublishReport, publish
from qcservice.vo.server import serve, stop

VO_DB = "musedc_vo"


@dataclass
class VOService:
    """What the VO tests need to know about the running service."""

    url: str
    settings: Settings
    engine: Engine
    instance: Instance
    authority: str
    embargoed: str      # accref of the embargoed cube
    public: str         # accref of the public real MUSE cube (minicube)
    failed: str         # accref of an image whose QA state is Fail
    spectrum: str       # accref of an embargoed spectrum (same owner as the cube)
    minicube: Path
    viewer_url: str = ""   # the QA viewer the DataLink #auxiliary links point to

    @property
    def tap(self) -> str:
        return f"{self.url}/tap"

    def pubdid(self, accref: str) -> str:
        return f"ivo://{self.authority}/~?{accref}"

    def republish(self) -> PublishReport:
        return publish(self.engine, self.instance)


def _png(path: Path) -> None:
    """A 2x2 grey PNG (the white-light preview stand-in)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + b"\x80\x80" for _ in range(2))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 0,
                                                                        0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _create_db(pg: Settings) -> str:
    cluster = EmbeddedCluster(pg)
    conn = psycopg2.connect(host=str(cluster.socket_dir), port=pg.pg_port,
                            user="musedc", password=cluster.password(), dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{VO_DB}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{VO_DB}" TEMPLATE musedc')
    conn.close()
    return cluster.url(database=VO_DB)


def _prepare(engine: Engine, data: Path) -> dict[str, str]:
    """QA states, embargo, users and a preview; return accrefs by role."""
    with engine.begin() as conn:
        rows = conn.execute(text(
            "SELECT p.file_id, f.filename, p.pro_catg FROM qc.products p "
            "JOIN qc.files f USING (file_id) WHERE p.ifu IS NULL "
            "AND p.pro_catg IN ('DATACUBE_FINAL', 'IMAGE_FOV') ORDER BY p.file_id")).all()
        ids = {r.filename: r.file_id for r in rows}
        conn.execute(text("INSERT INTO qc.qa (file_id, auto_state, state) "
                          "SELECT unnest(CAST(:ids AS bigint[])), 'Pass', 'Pass'"),
                     {"ids": list(ids.values())})
        conn.execute(text("INSERT INTO qc.qa (file_id, auto_state, state) "
                          "SELECT file_id, 'Pass', 'Pass' FROM qc.products "
                          "WHERE pro_catg = 'SPECTRUM_1D'"))
        fail = ids["IMAGE_FOV_2.fits"]
        conn.execute(text("UPDATE qc.qa SET state = 'Fail' WHERE file_id = :f"), {"f": fail})
        cube = ids["DATACUBE_FINAL_1.fits"]
        spectrum = conn.execute(text("SELECT file_id FROM qc.files "
                                     "WHERE filename = 'SPECTRUM_1D_1.fits'")).scalar_one()
        conn.execute(text("UPDATE qc.files SET release_date = :d, privilege = 1 "
                          "WHERE file_id = ANY(:f)"), {"d": EMBARGO, "f": [cube, spectrum]})
        conn.execute(text("UPDATE qc.files SET release_date = '2020-01-01' "
                          "WHERE filename = 'minicube.fits'"))
        owner = conn.execute(text("SELECT owner_group_id FROM qc.files WHERE file_id = :f"),
                             {"f": cube}).scalar_one()
        digest = generate_password_hash(PASSWORD, method="scrypt")
        for name in ("member", "stranger"):
            conn.execute(text("INSERT INTO qc.users (username, password_hash) VALUES (:u, :h)"),
                         {"u": name, "h": digest})
        conn.execute(text("INSERT INTO qc.user_groups SELECT user_id, :g FROM qc.users "
                          "WHERE username = 'member'"), {"g": owner})
        # QC found IFU 7 of a raw exposure of the other cube invalid (as QC does)
        other = ids["DATACUBE_FINAL_2.fits"]
        conn.execute(text(
            "INSERT INTO qc.ifu_status (file_id, ifu, is_valid, flags) "
            "SELECT v.input_file_id, 7, false, '{bias.level}' FROM qc.provenance v "
            "JOIN qc.raw_frames r ON r.file_id = v.input_file_id "
            "WHERE v.file_id = :c AND r.dpr_catg = 'SCIENCE' LIMIT 1"), {"c": other})
        png = data / "white_light_1.png"
        _png(png)
        conn.execute(text("INSERT INTO qc.qc_images (file_id, kind, path) "
                          "VALUES (:f, 'white_light', :p)"), {"f": cube, "p": str(png)})
    return {"embargoed": f"muse/{cube}/DATACUBE_FINAL_1.fits",
            "public": f"muse/{ids['minicube.fits']}/minicube.fits",
            "failed": f"muse/{fail}/IMAGE_FOV_2.fits",
            "spectrum": f"muse/{spectrum}/SPECTRUM_1D_1.fits"}


@pytest.fixture(scope="session")
def vo_service(pg_settings: Settings, minicube: Path) -> Iterator[VOService]:
    """The running DaCHS with the published test data."""
    url = _create_db(pg_settings)
    home = open_tempdir("musedc-vo-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEDC_")}
    settings = load_settings(env, home=str(home / "home"), database_url=url)
    data = home / "data"
    data.mkdir()
    simulate_night(data, "2024-03-10", scale="tiny", seed=3, workers=1)
    shutil.copy(minicube, data / "minicube.fits")
    engine = create_engine(url)
    ingest_paths(engine, [data], workers=1, checksum=False)
    refs = _prepare(engine, data)
    viewer = start_viewer(settings, port=0, engine=engine)
    vo = load_vo_config(settings, env, port=free_port(), viewer_url=viewer.url)
    inst = Instance(vo)
    inst.init()
    publish(engine, inst)
    serve(inst)
    try:
        yield VOService(vo.url, settings, engine, inst, vo.authority,
                        minicube=data / "minicube.fits", viewer_url=viewer.url, **refs)
    finally:
        viewer.stop()
        stop(inst)
        engine.dispose()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(autouse=True)
def _forget_failed_logins(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test's wrong passwords are its own: the login throttle (sql/040) counts
    failures per account and address over 5 minutes, and the session's tests together
    probe 'member' with a wrong password more often than the policy allows in that time.
    The throttle's own tests make their failures within one test."""
    yield
    if "vo_service" in request.fixturenames:
        service = request.getfixturevalue("vo_service")
        with service.engine.begin() as conn:
            conn.execute(text("DELETE FROM qc.login_failures"))
