"""VO benchmark: ObsCore cone and polygon queries through TAP at N rows of cubes, images
and spectra (p50 latency against the same queries on an empty ObsCore through the same
DaCHS in the same run: the floor DaCHS adds; goal <= 1.5x), async against sync TAP, and
SODA cutouts from a large cube
(time against astropy slicing the same window, and the DaCHS server's peak memory growth
against the cutout's size).

    .venv/bin/python bench/bench_vo.py                    # 1,000,000 rows, 320x320x3681 cube
    .venv/bin/python bench/bench_vo.py --rows 100000 --cube 160x160x1000
    .venv/bin/python bench/bench_vo.py --quick --json out.json   # 20,000 rows, small cube

Then CLIENTS concurrent clients send cone queries through TAP for SECONDS seconds (or
MAX_REQUESTS requests): throughput, p50 and p99 latency, errors (must be 0), against
one client alone.

Everything runs for real in a temporary folder: an embedded PostgreSQL, a DaCHS instance
(``qcservice.vo``), rows inserted straight into ``muse.cubes`` and ``muse.spectra`` (the
tables behind ivoa.obscore), and a synthetic MUSE-like cube (primary + DATA extension).
``--explain`` prints the plans PostgreSQL makes for DaCHS's SQL with seqscan off.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psycopg2
import requests
from astropy.io import fits
from benchlib import (
    Report,
    add_load,
    add_load_arguments,
    bench_arguments,
    free_port,
    load,
    scratch_instance,
)

from qcservice.db import make_engine
from qcservice.db.cluster import EmbeddedCluster
from qcservice.vo.config import load_vo_config
from qcservice.vo.instance import RESOURCES_DIR, Instance
from qcservice.vo.server import serve, stop

# ivoa.obscore at n rows, a third in each of its kinds: cubes and images (muse.cubes)
# and spectra (muse.spectra, the view's SSA branch), so that every branch of the view
# is searched as a real archive's would be
_POSITIONS = """(SELECT i, 360 * random() AS ra, degrees(asin(2 * random() - 1)) * 0.98 AS dec
      FROM generate_series(1, %(n)s / 3) AS i) AS g"""
_SQUARE = """spoly(format('{(%%sd,%%sd),(%%sd,%%sd),(%%sd,%%sd),(%%sd,%%sd)}',
             ra - {d}, dec - {d}, ra + {d}, dec - {d},
             ra + {d}, dec + {d}, ra - {d}, dec + {d}))"""
FILL_SQL = f"""
INSERT INTO muse.cubes (accref, owner, embargo, mime, accsize, file_id, obs_id, obs_title,
    pro_catg, dptype, s_ra, s_dec, s_fov, s_region, em_min, em_max, t_exptime, qa_state)
SELECT 'bench/' || kind || i, NULL, NULL, 'image/fits', 3000000000,
       CASE kind WHEN 'cube' THEN 1000000 ELSE 2000000 END + i, 'bench-' || kind || i,
       'bench ' || kind, CASE kind WHEN 'cube' THEN 'DATACUBE_FINAL' ELSE 'IMAGE_FOV' END,
       kind, ra, dec, 0.0236, {_SQUARE.replace("{d}", "0.008")},
       4.75e-7, 9.35e-7, 3600, 'Pass'
FROM {_POSITIONS} CROSS JOIN (VALUES ('cube'), ('image')) AS k(kind);
INSERT INTO muse.spectra (accref, owner, embargo, mime, accsize, file_id, obs_id,
    ssa_dstitle, ssa_targname, ssa_pubdid, ssa_location, ssa_aperture, ssa_dateobs,
    ssa_timeext, ssa_specstart, ssa_specend, ssa_length, s_region, qa_state)
SELECT 'bench/spectrum' || i, NULL, NULL, 'application/fits', 60000, 3000000 + i,
       'bench-spectrum' || i, 'bench spectrum', 'bench',
       'ivo://bench/~?bench/spectrum' || i, spoint(radians(ra), radians(dec)), 0.0003,
       60000, 3600, 4.75e-7, 9.35e-7, 3681, {_SQUARE.replace("{d}", "0.0003")}, 'Pass'
FROM {_POSITIONS};
ANALYZE muse.cubes;
ANALYZE muse.spectra;
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


def _staged_names() -> set[str]:
    """Every staging file the muse/q RD reads (the list grows with the RD)."""
    rds = RESOURCES_DIR / "muse"
    return {name for rd in ("q.rd", "ssa.rd")
            for name in re.findall(r'(?:src="|<sources>stage/)(\w+)\.jsonl',
                                   (rds / rd).read_text())}


def _stage_cube(inst: Instance, path: Path) -> str:
    ref = "bench/cube.fits"
    row = {"p_accref": ref, "p_path": str(path), "p_fsize": path.stat().st_size,
           "p_owner": None, "p_embargo": None, "p_preview": None, "file_id": 1,
           "obs_id": "bench-cube", "dptype": "cube", "pro_catg": "DATACUBE_FINAL",
           "s_ra": 150.0, "s_dec": 2.0, "qa_state": "Pass"}
    for name in _staged_names() - {"products"}:
        (inst.stage_dir / f"{name}.jsonl").write_text("")
    (inst.stage_dir / "products.jsonl").write_text(json.dumps(row) + "\n")
    inst.chown()
    inst.run("imp", "muse/q")
    inst.run("imp", "muse/ssa")
    return f"ivo://{inst.vo.authority}/~?{ref}"


def _queries(n_queries: int) -> list[tuple[str, str, str]]:
    """(kind, ADQL, the SQL DaCHS 2.7 runs for it) at n random positions."""
    rng = random.Random(1)
    out = []
    for _ in range(n_queries):
        ra, dec = rng.uniform(0, 360), rng.uniform(-60, 60)
        out.append(("cone", "SELECT obs_publisher_did, s_ra, s_dec FROM ivoa.obscore WHERE "
                    f"1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {ra}, {dec}, 0.5))",
                    "SELECT obs_publisher_did, s_ra, s_dec FROM ivoa.obscore WHERE "
                    f"q3c_join({ra}, {dec}, s_ra, s_dec, 0.5)"))
        d = 0.5
        pts = [(ra - d, dec - d), (ra + d, dec - d), (ra + d, dec + d), (ra - d, dec + d)]
        poly = "{" + ",".join(f"({a}d,{b}d)" for a, b in pts) + "}"
        out.append(("polygon", "SELECT obs_publisher_did FROM ivoa.obscore WHERE 1 = "
                    "INTERSECTS(s_region, POLYGON('ICRS', "
                    + ", ".join(f"{a}, {b}" for a, b in pts) + "))",
                    f"SELECT obs_publisher_did FROM ivoa.obscore WHERE s_region && spoly '{poly}'"))
    return out


def _tap_p50(inst: Instance, conn, queries) -> dict[str, tuple[float, float]]:
    """kind -> (p50 through TAP, p50 of DaCHS's SQL run as DaCHS runs it: seqscan off)."""
    times: dict[str, list[tuple[float, float]]] = {}
    for kind, adql, sql in queries:
        t0 = time.perf_counter()
        resp = requests.get(f"{inst.vo.tap_url}/sync", timeout=120,
                            params={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": adql})
        t_tap = time.perf_counter() - t0
        resp.raise_for_status()
        if b'value="ERROR"' in resp.content:
            raise RuntimeError(f"TAP error for {adql}: {resp.text[:300]}")
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute("SET enable_seqscan = off")
            cur.execute(sql)
            cur.fetchall()
            cur.execute("RESET enable_seqscan")
        times.setdefault(kind, []).append((t_tap, time.perf_counter() - t0))
    return {kind: (statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs))
            for kind, pairs in times.items()}


def _tap_vs_empty(empty: dict, full: dict, report: Report, rows: int) -> None:
    """The goal: a query on the full ObsCore within 1.5x of the same on an empty one."""
    for kind, (tap, sql_t) in full.items():
        floor = empty[kind][0]
        print(f"  {kind:8s} TAP p50 {tap * 1000:8.1f} ms   empty ObsCore {floor * 1000:8.1f} ms"
              f"   ratio {tap / floor:5.2f}   (SQL alone {sql_t * 1000:6.1f} ms)")
        report.add(f"TAP {kind} query at {rows:,} ObsCore rows (cubes, images, spectra), p50",
                   tap * 1e3, "ms", floor * 1e3, "the same query on an empty ObsCore")
        report.add(f"SQL of the {kind} query at {rows:,} rows (seqscan off, as DaCHS), p50",
                   sql_t * 1e3, "ms", empty[kind][1] * 1e3, "the same on an empty ObsCore")
        report.check(f"TAP {kind} at {rows:,} rows <= 1.5x the empty ObsCore "
                     f"({tap / floor:.2f}x)", tap <= 1.5 * floor)


def _explain(conn, queries) -> None:
    """The plans DaCHS's SQL gets (seqscan off, as DaCHS runs geometry queries)."""
    with conn.cursor() as cur:
        cur.execute("SET enable_seqscan = off")
        for kind, _, sql in queries[:2]:
            cur.execute("EXPLAIN ANALYZE " + sql)
            print(f"  plan of the {kind} query:")
            for (line,) in cur.fetchall():
                print("    " + line)
        cur.execute("RESET enable_seqscan")


def _async_vs_sync(inst: Instance, report: Report, n: int) -> None:
    """A trivial TOP 1 query, async (UWS job: create, run, poll every 50 ms, fetch)
    against sync. DaCHS runs each async job in a new ``gavo taprun`` process: its start
    (imports, RDs) is the floor, not the query."""
    adql = "SELECT TOP 1 obs_publisher_did FROM ivoa.obscore"
    params = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": adql}
    sync, asyn = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        requests.post(f"{inst.vo.tap_url}/sync", data=params, timeout=60).raise_for_status()
        sync.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        job = requests.post(f"{inst.vo.tap_url}/async", data=params, timeout=60,
                            allow_redirects=False).headers["Location"]
        requests.post(f"{job}/phase", data={"PHASE": "RUN"}, timeout=60)
        for _ in range(1200):
            phase = requests.get(f"{job}/phase", timeout=60).text.strip()
            if phase in ("COMPLETED", "ERROR", "ABORTED"):
                break
            time.sleep(0.05)
        requests.get(f"{job}/results/result", timeout=60).raise_for_status()
        asyn.append(time.perf_counter() - t0)
        requests.delete(job, timeout=60)
    a, s = statistics.median(asyn), statistics.median(sync)
    print(f"  async p50 {a * 1000:8.1f} ms   sync p50 {s * 1000:8.1f} ms   ratio {a / s:6.1f}")
    report.add("async TAP TOP 1 to COMPLETED + result, p50", a * 1e3, "ms", s * 1e3,
               "the same query sync")


def _cone_request(inst: Instance):
    """A TAP cone query at the k-th random position: None, or what went wrong."""
    def request(k: int) -> str | None:
        rng = random.Random(k)
        adql = ("SELECT obs_publisher_did, s_ra, s_dec FROM ivoa.obscore WHERE 1 = CONTAINS("
                f"POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {rng.uniform(0, 360)}, "
                f"{rng.uniform(-60, 60)}, 0.5))")
        resp = requests.get(f"{inst.vo.tap_url}/sync", timeout=120,
                            params={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": adql})
        if resp.status_code != 200:
            return f"HTTP {resp.status_code}: {resp.text[:200]}"
        if b'name="QUERY_STATUS" value="ERROR"' in resp.content:
            return f"TAP error: {resp.text[:300]}"
        return None
    return request


def _tap_load(inst: Instance, report: Report, args) -> None:
    """Concurrent TAP clients on loopback, bounded in time and in requests."""
    request = _cone_request(inst)
    alone = load(request, 1, args.seconds / 5, args.max_requests // 5)
    many = load(request, args.clients, args.seconds, args.max_requests)
    print(f"  {many['requests']} cone queries of {args.clients} clients (at most "
          f"{args.seconds:g} s or {args.max_requests}), {alone['requests']} alone")
    add_load(report, f"TAP cone at {args.rows:,} rows", alone, many, args.clients)


def _server_status_kb(inst: Instance, field: str) -> int:
    pid = int(inst.pid_file.read_text())
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _reset_server_peak(inst: Instance) -> None:
    """Reset the server's VmHWM to its current RSS (Linux: clear_refs 5)."""
    pid = int(inst.pid_file.read_text())
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _download(url: str, params: dict, dest: Path) -> bool:
    """Fetch into ``dest``; False when the service answers 204 (no pixel in the window)."""
    with requests.get(url, params=params, timeout=900, stream=True) as resp:
        resp.raise_for_status()
        if resp.status_code == 204:
            return False
        with dest.open("wb") as f:
            for chunk in resp.iter_content(1 << 20):
                f.write(chunk)
    return True


def _direct_cutout(cube: Path, window: tuple[slice, ...], out: Path) -> None:
    """The baseline: the same window sliced with astropy from a memory map and written."""
    with fits.open(cube, memmap=True, do_not_scale_image_data=True) as hdus:
        cut = fits.ImageHDU(hdus[1].data[window].copy(), header=hdus[1].header)
        fits.HDUList([fits.PrimaryHDU(header=hdus[0].header), cut]).writeto(out)


def _soda(inst: Instance, did: str, cube: Path, shape: tuple[int, int, int]) -> list[dict]:
    """SODA cut-outs of growing size: time against astropy's slice of the same window,
    and the server's peak memory growth against the cut-out's size."""
    nz, ny, nx = shape
    figures = []
    print(f"  cube {nx}x{ny}x{nz} float32 = {nz * ny * nx * 4 / 1e9:.2f} GB")
    scratch = cube.with_name("direct.fits")
    t0 = time.perf_counter()
    _download(f"{inst.vo.url}/muse/q/dl/dlget", {"ID": did}, scratch)
    whole = time.perf_counter() - t0
    t0 = time.perf_counter()
    shutil.copyfile(cube, scratch)
    copy = time.perf_counter() - t0
    print(f"  whole file through DaCHS (no cutout): {whole:6.2f} s = "
          f"{cube.stat().st_size / whole / 1e6:5.0f} MB/s; a local copy {copy:5.2f} s "
          f"(ratio {whole / copy:5.1f})")
    figures.append({"name": "soda whole file served", "value": whole, "unit": "s",
                    "baseline": copy, "baseline_name": "local copy"})
    for radius_arcsec, band in ((1.0, (6.0e-7, 6.01e-7)), (4.0, (6.0e-7, 6.5e-7)),
                                (10.0, (5.0e-7, 9.0e-7)), (60.0, (4.0e-7, 1.0e-6))):
        params = {"ID": did, "CIRCLE": f"150.0 2.0 {radius_arcsec / 3600}",
                  "BAND": f"{band[0]} {band[1]}"}
        _reset_server_peak(inst)
        rss0 = _server_status_kb(inst, "VmRSS")
        t0 = time.perf_counter()
        got = cube.with_name("soda.fits")
        if not _download(f"{inst.vo.url}/muse/q/dl/dlget", params, got):
            print(f"  r={radius_arcsec}\" BAND {band}: outside this cube (204), skipped")
            continue
        elapsed = time.perf_counter() - t0
        growth_mb = (_server_status_kb(inst, "VmHWM") - rss0) / 1024
        with fits.open(got) as hdus:
            head = hdus[1].header
            x0, y0, z0 = (round(nx / 2 - head["CRPIX1"]), round(ny / 2 - head["CRPIX2"]),
                          round(1 - head["CRPIX3"]))
            window = (slice(z0, z0 + head["NAXIS3"]), slice(y0, y0 + head["NAXIS2"]),
                      slice(x0, x0 + head["NAXIS1"]))
        size_mb = got.stat().st_size / 1e6
        scratch.unlink(missing_ok=True)
        t0 = time.perf_counter()
        _direct_cutout(cube, window, scratch)
        direct = time.perf_counter() - t0
        label = f"r={radius_arcsec:g}\" {band[0] * 1e10:.0f}-{band[1] * 1e10:.0f} A"
        print(f"  cutout {label:22s} {size_mb:8.1f} MB: SODA {elapsed:6.2f} s, astropy slice "
              f"{direct:6.2f} s (ratio {elapsed / direct:5.2f}); server peak growth "
              f"{growth_mb:6.1f} MB = {growth_mb / size_mb:6.3f} x the cut-out")
        figures.append({"name": f"soda cutout {label} time", "value": elapsed, "unit": "s",
                        "baseline": direct, "baseline_name": "astropy slice"})
        figures.append({"name": f"soda cutout {label} server peak growth",
                        "value": growth_mb, "unit": "MB", "baseline": size_mb,
                        "baseline_name": "cut-out size"})
    return figures


def main() -> int:
    parser = bench_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--cube", default="320x320x3681", help="NXxNYxNZ of the SODA cube")
    add_load_arguments(parser, clients=8, seconds=20.0, max_requests=5000)
    parser.add_argument("--explain", action="store_true",
                        help="print the plans of a cone and a polygon query")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.queries, args.cube = 20_000, 5, "40x40x400"
        args.clients, args.seconds = 4, 5.0
    report = Report("vo")
    nx, ny, nz = (int(v) for v in args.cube.split("x"))
    home, settings = scratch_instance()
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
        serve(inst)
        queries = _queries(args.queries)
        _tap_p50(inst, conn, queries[:4])      # warm DaCHS up (imports, first plans)
        empty = _tap_p50(inst, conn, queries)
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute(FILL_SQL, {"n": args.rows})
        print(f"inserted {args.rows:,} ObsCore rows in {time.perf_counter() - t0:.1f} s")
        print(f"ObsCore queries through TAP, full against empty ({args.queries} each):")
        _tap_vs_empty(empty, _tap_p50(inst, conn, queries), report, args.rows)
        if args.explain:
            _explain(conn, queries)
        print("async against sync TAP:")
        _async_vs_sync(inst, report, 3 if args.quick else 10)
        print("TAP under concurrent clients:")
        _tap_load(inst, report, args)
        print("SODA cutouts:")
        for figure in _soda(inst, did, cube, (nz, ny, nx)):
            report.add(**figure)
        conn.close()
    finally:
        stop(inst)
        EmbeddedCluster(settings).stop()
        shutil.rmtree(home, ignore_errors=True)
    return report.finish(args.json)


if __name__ == "__main__":
    sys.exit(main())
