"""VO benchmark: ObsCore cone and polygon queries through TAP at N rows (p50 latency and
the ratio to the same SQL run directly in PostgreSQL), and SODA cutouts from a large cube
(time and the DaCHS server's peak memory against the cutout's size).

    .venv/bin/python bench/bench_vo.py                    # 1,000,000 rows, 320x320x3681 cube
    .venv/bin/python bench/bench_vo.py --rows 100000 --cube 160x160x1000

Everything runs for real in a temporary folder: an embedded PostgreSQL, a DaCHS instance
(``qcservice.vo``), rows inserted straight into ``muse.cubes`` (the table behind
ivoa.obscore), and a synthetic MUSE-like cube (primary + DATA extension).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psycopg2
import requests
from astropy.io import fits

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support import free_port, open_tempdir

from qcservice.config import load_settings
from qcservice.db import make_engine
from qcservice.db.cluster import EmbeddedCluster
from qcservice.vo.config import load_vo_config
from qcservice.vo.instance import Instance
from qcservice.vo.server import serve, stop

FILL_SQL = """
INSERT INTO muse.cubes (accref, owner, embargo, mime, accsize, file_id, obs_id, obs_title,
    pro_catg, dptype, s_ra, s_dec, s_fov, s_region, em_min, em_max, t_exptime, qa_state)
SELECT 'bench/' || i, NULL, NULL, 'image/fits', 3000000000, 1000000 + i, 'bench-' || i,
       'bench cube', 'DATACUBE_FINAL', 'cube', ra, dec, 0.0236,
       spoly(format('{(%%sd,%%sd),(%%sd,%%sd),(%%sd,%%sd),(%%sd,%%sd)}',
             ra - 0.008, dec - 0.008, ra + 0.008, dec - 0.008,
             ra + 0.008, dec + 0.008, ra - 0.008, dec + 0.008)),
       4.75e-7, 9.35e-7, 3600, 'Pass'
FROM (SELECT i, 360 * random() AS ra, degrees(asin(2 * random() - 1)) * 0.98 AS dec
      FROM generate_series(1, %(n)s) AS i) AS g
"""


def _cube(path: Path, shape: tuple[int, int, int]) -> None:
    """A MUSE-like cube: empty primary, DATA float32 with a celestial+spectral WCS."""
    nz, ny, nx = shape
    hdr = fits.Header()
    for k, v in {"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CTYPE3": "AWAV",
                 "CUNIT1": "deg", "CUNIT2": "deg", "CUNIT3": "Angstrom",
                 "CRPIX1": nx / 2, "CRPIX2": ny / 2, "CRPIX3": 1.0, "CRVAL1": 150.0,
                 "CRVAL2": 2.0, "CRVAL3": 4750.0, "CD1_1": -0.2 / 3600, "CD2_2": 0.2 / 3600,
                 "CD3_3": 1.25, "CD1_2": 0.0, "CD2_1": 0.0, "EXTNAME": "DATA"}.items():
        hdr[k] = v
    stub = fits.ImageHDU(data=np.zeros((1, 1, 1), np.float32), header=hdr)
    stub.header["NAXIS1"], stub.header["NAXIS2"], stub.header["NAXIS3"] = nx, ny, nz
    fits.HDUList([fits.PrimaryHDU()]).writeto(path, overwrite=True)
    with open(path, "ab") as f:
        f.write(stub.header.tostring().encode("ascii"))
        plane = np.arange(ny * nx, dtype=">f4").reshape(ny, nx)
        for z in range(nz):
            f.write((plane + z).tobytes())
        pad = (-(nz * ny * nx * 4)) % 2880
        f.write(b"\0" * pad)


def _stage_cube(inst: Instance, path: Path) -> str:
    ref = "bench/cube.fits"
    row = {"p_accref": ref, "p_path": str(path), "p_fsize": path.stat().st_size,
           "p_owner": None, "p_embargo": None, "p_preview": None, "file_id": 1,
           "obs_id": "bench-cube", "dptype": "cube", "pro_catg": "DATACUBE_FINAL",
           "s_ra": 150.0, "s_dec": 2.0, "qa_state": "Pass"}
    for name in ("previews", "inputs", "provenance", "nights", "ifu_status", "metrics"):
        (inst.stage_dir / f"{name}.jsonl").write_text("")
    (inst.stage_dir / "products.jsonl").write_text(json.dumps(row) + "\n")
    inst.chown()
    inst.run("imp", "muse/q")
    return f"ivo://{inst.vo.authority}/~?{ref}"


def _tap_vs_sql(inst: Instance, conn, n_queries: int) -> None:
    rng = random.Random(1)
    cases = []
    for _ in range(n_queries):
        ra, dec = rng.uniform(0, 360), rng.uniform(-60, 60)
        cases.append(("cone", ra, dec))
        cases.append(("polygon", ra, dec))
    times: dict[str, list[tuple[float, float]]] = {"cone": [], "polygon": []}
    for kind, ra, dec in cases:
        if kind == "cone":
            adql = ("SELECT obs_publisher_did, s_ra, s_dec FROM ivoa.obscore WHERE 1 = CONTAINS("
                    f"POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {ra}, {dec}, 0.5))")
            # what DaCHS 2.7 runs for this ADQL (adqlglue.morphADQL): q3c_join
            sql = ("SELECT obs_publisher_did, s_ra, s_dec FROM ivoa.obscore WHERE "
                   f"q3c_join({ra}, {dec}, s_ra, s_dec, 0.5)")
        else:
            d = 0.5
            pts = [(ra - d, dec - d), (ra + d, dec - d), (ra + d, dec + d), (ra - d, dec + d)]
            adql = ("SELECT obs_publisher_did FROM ivoa.obscore WHERE 1 = INTERSECTS(s_region, "
                    "POLYGON('ICRS', " + ", ".join(f"{a}, {b}" for a, b in pts) + "))")
            poly = "{" + ",".join(f"({a}d,{b}d)" for a, b in pts) + "}"
            sql = f"SELECT obs_publisher_did FROM ivoa.obscore WHERE s_region && spoly '{poly}'"
        t0 = time.perf_counter()
        resp = requests.get(f"{inst.vo.tap_url}/sync", timeout=120,
                            params={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": adql})
        t_tap = time.perf_counter() - t0
        resp.raise_for_status()
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute(sql)
            cur.fetchall()
        times[kind].append((t_tap, time.perf_counter() - t0))
    for kind, pairs in times.items():
        tap = statistics.median(p[0] for p in pairs)
        sql_t = statistics.median(p[1] for p in pairs)
        print(f"  {kind:8s} TAP p50 {tap * 1000:8.1f} ms   SQL p50 {sql_t * 1000:8.1f} ms   "
              f"ratio {tap / sql_t:6.1f}")


def _server_hwm_kb(inst: Instance) -> int:
    pid = int(inst.pid_file.read_text())
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _soda(inst: Instance, did: str, shape: tuple[int, int, int]) -> None:
    nz, ny, nx = shape
    print(f"  cube {nx}x{ny}x{nz} float32 = {nz * ny * nx * 4 / 1e9:.2f} GB "
          f"(server peak RSS before: {_server_hwm_kb(inst) / 1024:.0f} MB)")
    for radius_arcsec, band in ((1.0, (6.0e-7, 6.01e-7)), (4.0, (6.0e-7, 6.5e-7)),
                                (10.0, (5.0e-7, 9.0e-7))):
        params = {"ID": did, "CIRCLE": f"150.0 2.0 {radius_arcsec / 3600}",
                  "BAND": f"{band[0]} {band[1]}"}
        t0 = time.perf_counter()
        resp = requests.get(f"{inst.vo.url}/muse/q/dl/dlget", params=params, timeout=600)
        elapsed = time.perf_counter() - t0
        resp.raise_for_status()
        print(f"  cutout r={radius_arcsec:4.1f}\" band {band[0] * 1e10:.0f}-"
              f"{band[1] * 1e10:.0f} A: {len(resp.content) / 1e6:8.1f} MB in {elapsed:6.2f} s, "
              f"server peak RSS {_server_hwm_kb(inst) / 1024:7.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--cube", default="320x320x3681", help="NXxNYxNZ of the SODA cube")
    args = parser.parse_args()
    nx, ny, nz = (int(v) for v in args.cube.split("x"))
    home = open_tempdir("musedc-bench-vo-")
    settings = load_settings(home=str(home / "home"), pg_port=free_port())
    make_engine(settings).dispose()
    inst = Instance(load_vo_config(settings, port=free_port()))
    try:
        inst.init()
        cube = home / "cube.fits"
        t0 = time.perf_counter()
        _cube(cube, (nz, ny, nx))
        print(f"wrote the cube in {time.perf_counter() - t0:.1f} s")
        did = _stage_cube(inst, cube)
        cluster = EmbeddedCluster(settings)
        conn = psycopg2.connect(host=str(cluster.socket_dir), port=settings.pg_port,
                                user="musedc", password=cluster.password(), dbname="musedc")
        conn.autocommit = True
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute(FILL_SQL, {"n": args.rows})
            cur.execute("ANALYZE muse.cubes")
        print(f"inserted {args.rows:,} ObsCore rows in {time.perf_counter() - t0:.1f} s")
        serve(inst)
        print(f"ObsCore queries through TAP vs direct SQL ({args.queries} each):")
        _tap_vs_sql(inst, conn, args.queries)
        print("SODA cutouts:")
        _soda(inst, did, (nz, ny, nx))
        conn.close()
    finally:
        stop(inst)
        EmbeddedCluster(settings).stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
