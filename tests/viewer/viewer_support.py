"""Catalogue rows for the viewer tests, written with real SQL into the test database:
users and groups, raw frames, master calibrations, a cube, QC results and images."""

from __future__ import annotations

import datetime as dt
import re
import struct
import zlib
from pathlib import Path

from sqlalchemy import Connection, text

from qcservice.users import add_to_group, add_user

PASSWORD = "correct horse battery"
NIGHT = dt.date(2024, 3, 9)
SCRIPT_OBJECT = "<script>alert('xss')</script>"


def tiny_png(path: Path) -> Path:
    """A real 2x2 PNG file."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    path.write_bytes(png)
    return path


def add_file(conn: Connection, name: str, kind: str, *, owner: str | None = None,
             privilege: int = 2, release: dt.date = NIGHT, **cols) -> int:
    """One qc.files row and its raw_frames or products row; returns file_id."""
    fid = conn.execute(text("""
        INSERT INTO qc.files (path, filename, size_bytes, mtime, kind, n_hdu, project_id,
                              owner_group_id, release_date, privilege)
        VALUES (:path, :name, 1000, now(), :kind, 25,
                (SELECT project_id FROM qc.projects WHERE name = 'GTO'),
                (SELECT group_id FROM qc.groups WHERE name = :owner), :release, :priv)
        RETURNING file_id"""),
        {"path": f"/data/{name}", "name": name, "kind": kind, "owner": owner,
         "release": release, "priv": privilege}).scalar_one()
    table = "raw_frames" if kind == "raw" else "products"
    values = {"file_id": fid, "night": NIGHT, "date_obs": dt.datetime(2024, 3, 9, 20),
              "ins_mode": "WFM-NOAO-N", **cols}
    if kind == "raw":
        values.setdefault("n_ifu", 24)
    names = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    conn.execute(text(f"INSERT INTO qc.{table} ({names}) VALUES ({params})"), values)
    return fid


def set_ifus(conn: Connection, fid: int, flagged: dict[int, list[str]]) -> None:
    """QC's per-IFU status: the flagged IFUs invalid, the others valid."""
    for ifu in range(1, 25):
        flags = flagged.get(ifu, [])
        conn.execute(text("INSERT INTO qc.ifu_status (file_id, ifu, flags, is_valid) "
                          "VALUES (:f, :i, :fl, :v)"),
                     {"f": fid, "i": ifu, "fl": flags, "v": not flags})


def populate(conn: Connection, tmp: Path) -> dict[str, int]:
    """The test catalogue; returns the file ids by role."""
    add_user(conn, "alice", "qc_scientist", PASSWORD)
    add_user(conn, "reader", "reader", PASSWORD)
    add_user(conn, "teamer", "reader", PASSWORD)
    add_to_group(conn, "alice", "GTO")
    add_to_group(conn, "teamer", "PROG-A")
    ids: dict[str, int] = {}
    for i in range(3):
        ids[f"bias{i}"] = add_file(conn, f"MUSE.BIAS{i}.fits", "raw", dpr_catg="CALIB",
                                   dpr_type="BIAS", object="BIAS", exptime=0.0)
    set_ifus(conn, ids["bias0"], {3: ["BAD_RON"], 7: ["BAD_RON"], 12: ["HIGH_DARK"]})
    set_ifus(conn, ids["bias1"], {})
    ids["science"] = add_file(
        conn, "MUSE.OBJ.fits", "raw", owner="PROG-A", privilege=1,
        release=dt.date(2099, 1, 1), dpr_catg="SCIENCE", dpr_type="OBJECT",
        object=SCRIPT_OBJECT, exptime=900.0, dimm_fwhm=0.8, prog_id="PROG-A",
        observer="Observer", pi_coi="PI", targ_name="A478", ra=63.35, dec=-1.09, airmass=1.2)
    ids["cube"] = add_file(conn, "MUSE.CUBE.fits", "product", owner="PROG-A", privilege=2,
                           release=dt.date(2099, 1, 1), pro_catg="DATACUBE_FINAL",
                           object="A478", exptime=900.0)
    for ifu in (1, 2, 3):
        fid = add_file(conn, f"MASTER_BIAS-{ifu:02d}.fits", "product", pro_catg="MASTER_BIAS",
                       ifu=ifu)
        ids[f"master{ifu}"] = fid
        for q in range(1, 5):
            conn.execute(text(
                "INSERT INTO qc.metrics (file_id, ifu, subunit, name, value, unit, source) "
                "VALUES (:f, :i, :q, 'QC BIAS MASTERi RON', :v, 'count', 'header')"),
                {"f": fid, "i": ifu, "q": str(q), "v": 2.5 + 0.1 * q + 0.01 * ifu})
        conn.execute(text("INSERT INTO qc.qa (file_id, auto_state, state) "
                          "VALUES (:f, :s, :s)"), {"f": fid, "s": "Fail" if ifu == 2 else "Pass"})
    for ifu in range(1, 25):
        conn.execute(text(
            "INSERT INTO qc.metrics (file_id, ifu, subunit, name, value, unit, source) "
            "VALUES (:f, :i, 'Q1', 'bias.ron', :v, 'adu', 'computed')"),
            {"f": ids["bias0"], "i": ifu, "v": 1.0 + ifu / 100})
    conn.execute(text("INSERT INTO qc.thresholds (metric, flag, warn_high, error_high, "
                      "valid_from) VALUES ('bias.ron', 'BAD_RON', 1.2, 1.3, '2020-01-01')"))
    for wave in (5000, 7000, 9000):
        conn.execute(text(
            "INSERT INTO qc.metrics (file_id, subunit, name, value, unit, source) "
            "VALUES (:f, :w, 'psf.fwhm', :v, 'arcsec', 'computed')"),
            {"f": ids["cube"], "w": str(wave), "v": 0.9 - wave / 1e5})
    png = tiny_png(tmp / "white.png")
    ids["image"] = conn.execute(text(
        "INSERT INTO qc.qc_images (file_id, kind, title, path) "
        "VALUES (:f, 'white_light', 'white light', :p) RETURNING image_id"),
        {"f": ids["cube"], "p": str(png)}).scalar_one()
    conn.execute(text("INSERT INTO qc.job_runs (kind, status, n_done, message) "
                      "VALUES ('qc', 'finished', 42, 'QC of 2024-03-09')"))
    return ids


def csrf_from(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def login(client, username: str, password: str = PASSWORD):
    """Log in through the form, as a browser would."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})
