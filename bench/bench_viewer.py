"""Benchmark: the QA viewer's server time and its behaviour under 20 concurrent clients.

    .venv/bin/python bench/bench_viewer.py [--nights 1000] [--clients 20] [--seconds 30]
                                           [--max-requests 20000] [--quick] [--json PATH]
                                           [--no-load]

Fills a fresh embedded PostgreSQL with NIGHTS nights of synthetic catalogue rows written
directly in SQL (no FITS files): per night 18 raw frames (bias, dark, flat, arc, science)
with 24 IFU statuses each, master bias/dark/flat/wavecal per IFU, 6 x 24 pixel tables and
a cube, QA states and metrics. A reader of the GTO project group (not an admin, so the
privilege rule runs) then asks, through the Flask test client (server time, no network):
- the nightly summary of every night, and a frame page with its 24-IFU grids;
  baseline: the same page's SQL alone, run with the same connection pool;
- then NCLIENTS threads hammer a real server on loopback for SECONDS seconds or
  MAX_REQUESTS requests (summary, night lists, frame pages, plot data): requests/s, p50
  and p99 latency, and failed requests; baseline: one client alone for a fifth of that.
- the trend of one metric over every night x 24 IFUs (/api/trend) and the nights x IFU
  heat map of every night, each against its SQL alone;
Targets (issues 6 and 15): each page under 200 ms (the summary also on its first call,
after the run that filled the catalogue ended, and right after a night changed outside a
run: a validation, a QA comment, a new metric); trend and heat map under 300 ms; no
failed request under load.
--quick: 100 nights, 4 clients for 5 s.
"""

from __future__ import annotations

import logging
import random
import shutil
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable

from benchlib import Report, add_load, add_load_arguments, bench_arguments, load, scratch_instance
from sqlalchemy import Engine, create_engine, text

from qcservice.db import make_engine
from qcservice.db.cluster import EmbeddedCluster
from qcservice.users import add_to_group, add_user
from qcservice.viewer import create_app
from qcservice.viewer.server import start_viewer

PASSWORD = "bench password"
RAW = [("CALIB", "BIAS", 5, 0.0), ("CALIB", "DARK", 2, 1800.0), ("CALIB", "FLAT,LAMP", 4, 15.0),
       ("CALIB", "WAVE", 1, 60.0), ("SCIENCE", "OBJECT", 6, 900.0)]
PRODUCTS = [("MASTER_BIAS", 1, True), ("MASTER_DARK", 1, True), ("MASTER_FLAT", 1, True),
            ("WAVECAL_TABLE", 1, True), ("PIXTABLE_OBJECT", 6, True),
            ("DATACUBE_FINAL", 1, False)]
MODES = "ARRAY['WFM-NOAO-N','WFM-NOAO-E','WFM-AO-N','WFM-AO-E','NFM-AO-N']"

_FILES = """
INSERT INTO qc.files (path, filename, size_bytes, mtime, kind, n_hdu, project_id,
                      owner_group_id, release_date, privilege)
SELECT format('/bench/%s/{tag}/%s/%s', d::date, i, ifu), format('{tag}-%s-%s-%s', d::date, i, ifu),
       1000, now(), '{kind}', 25, (SELECT project_id FROM qc.projects WHERE name = 'GTO'),
       CASE WHEN {science} THEN (SELECT group_id FROM qc.groups WHERE name = 'PROG-' || (i % 3))
       END,
       CASE WHEN {science} AND i % 2 = 0 THEN DATE '2099-01-01' ELSE d::date END,
       CASE WHEN {science} THEN 1 + (i % 3) ELSE 2 END
FROM generate_series(DATE '2021-01-01', DATE '2021-01-01' + :n - 1, '1 day') d,
     generate_series(1, {count}) i, generate_series(1, {n_ifu}) ifu"""

_RAW_ROWS = f"""
INSERT INTO qc.raw_frames (file_id, night, date_obs, dpr_catg, dpr_type, ins_mode, exptime,
                           object, dimm_fwhm, airmass, n_ifu)
SELECT file_id, split_part(path, '/', 3)::date,
       split_part(path, '/', 3)::date + interval '22 hours', :catg, :type,
       ({MODES})[1 + (file_id % 5)], :exptime, 'target', 0.6 + (file_id % 7) / 10.0, 1.2, 24
FROM qc.files WHERE path LIKE :pattern"""

_PRODUCT_ROWS = f"""
INSERT INTO qc.products (file_id, pro_catg, ifu, night, date_obs, ins_mode, creator)
SELECT file_id, :catg, CASE WHEN :per_ifu THEN split_part(path, '/', 6)::smallint END,
       split_part(path, '/', 3)::date, split_part(path, '/', 3)::date + interval '23 hours',
       ({MODES})[1 + (file_id % 5)], 'muse/2.8'
FROM qc.files WHERE path LIKE :pattern"""

_QC = """
INSERT INTO qc.ifu_status (file_id, ifu, flags, is_valid)
SELECT r.file_id, i, CASE WHEN (r.file_id * 31 + i) % 40 = 0 THEN '{BAD_RON}'::text[]
                          ELSE '{}' END, (r.file_id * 31 + i) % 40 <> 0
FROM qc.raw_frames r, generate_series(1, 24) i;
INSERT INTO qc.qa (file_id, auto_state, state)
SELECT file_id, s, s FROM (SELECT file_id, (ARRAY['Pass','Pass','Pass','Pass','Pass','Pass',
    'Pass','Usable','Fail','Check'])[1 + file_id % 10] AS s FROM qc.products) x;
INSERT INTO qc.metrics (file_id, ifu, subunit, name, value, unit, source)
SELECT r.file_id, i, q::text, 'bias.ron', 2.4 + ((r.file_id + i * q) % 17) / 50.0, 'adu',
       'computed'
FROM qc.raw_frames r, generate_series(1, 24) i, generate_series(1, 4) q
WHERE r.dpr_type = 'BIAS';
INSERT INTO qc.metrics (file_id, ifu, subunit, name, value, unit, source)
SELECT p.file_id, p.ifu, q::text, 'QC BIAS MASTERi RON', 2.5 + (p.file_id % 13) / 40.0,
       'count', 'header'
FROM qc.products p, generate_series(1, 4) q WHERE p.pro_catg = 'MASTER_BIAS';
INSERT INTO qc.metrics (file_id, ifu, name, value, unit, source)
SELECT p.file_id, p.ifu, 'master_bias.noise', 2.4 + (p.file_id % 29) / 40.0, 'adu', 'computed'
FROM qc.products p WHERE p.pro_catg = 'MASTER_BIAS';
INSERT INTO qc.ifu_status (file_id, ifu, flags, is_valid)
SELECT p.file_id, p.ifu, CASE WHEN p.file_id % 29 > 25 THEN '{BAD_RON}'::text[] ELSE '{}' END,
       p.file_id % 29 <= 27
FROM qc.products p WHERE p.pro_catg = 'MASTER_BIAS';
INSERT INTO qc.thresholds (metric, flag, warn_high, error_high, valid_from, source)
VALUES ('bias.ron', 'BAD_RON', 2.7, 2.8, '2020-01-01', 'bench'),
       ('master_bias.noise', 'BAD_RON', 3.0, 3.1, '2020-01-01', 'bench'),
       ('master_bias.noise', 'BAD_RON', 3.05, 3.1, '2022-01-01', 'bench');
"""


def fill(engine: Engine, nights: int) -> dict[str, int]:
    """Synthetic catalogue rows for ``nights`` nights; returns row counts."""
    with engine.begin() as conn:
        for k in range(3):
            conn.execute(text("INSERT INTO qc.groups (name) VALUES (:g)"), {"g": f"PROG-{k}"})
        for catg, dpr_type, count, exptime in RAW:
            tag = dpr_type.replace(",", "_")
            conn.execute(text(_FILES.format(tag=tag, kind="raw", count=count, n_ifu=1,
                                            science=str(catg == "SCIENCE").lower())),
                         {"n": nights})
            conn.execute(text(_RAW_ROWS), {"catg": catg, "type": dpr_type, "exptime": exptime,
                                           "pattern": f"/bench/%/{tag}/%"})
        for catg, count, per_ifu in PRODUCTS:
            science = str(catg in ("PIXTABLE_OBJECT", "DATACUBE_FINAL")).lower()
            conn.execute(text(_FILES.format(tag=catg, kind="product", count=count,
                                            n_ifu=24 if per_ifu else 1, science=science)),
                         {"n": nights})
            conn.execute(text(_PRODUCT_ROWS), {"catg": catg, "per_ifu": per_ifu,
                                               "pattern": f"/bench/%/{catg}/%"})
        conn.execute(text(_QC))
        add_user(conn, "bench", "reader", PASSWORD)
        add_to_group(conn, "bench", "GTO")
        add_user(conn, "benchqc", "qc_scientist", PASSWORD)
        add_to_group(conn, "benchqc", "GTO")
        # the fill ends as an ingest run does: its qc.job_runs row finishes (the summary's
        # counts are brought up to date then, sql/038_viewer.sql)
        conn.execute(text("INSERT INTO qc.job_runs (kind) VALUES ('ingest')"))
        conn.execute(text("UPDATE qc.job_runs SET status = 'finished', finished_at = now()"))
        counts = {t: conn.execute(text(f"SELECT count(*) FROM qc.{t}")).scalar_one()
                  for t in ("files", "ifu_status", "metrics")}
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return counts


def timed(repeat: int, fn: Callable[[], object]) -> float:
    """Median seconds of ``repeat`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def logged_in(client, user: str = "bench") -> str:
    """Log the test client in as the bench reader (or ``user``); returns a CSRF token."""
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post("/login", data={"username": user, "password": PASSWORD,
                                       "csrf_token": token})
    assert resp.status_code == 302, resp.status_code
    page = client.get("/jobs").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def page_figures(app, engine: Engine, repeat: int) -> list[tuple[str, float, float]]:
    """(label, server seconds, baseline seconds) for the summary and a frame page."""
    from qcservice.viewer import summary

    client = app.test_client()
    logged_in(client)
    with engine.connect() as conn:
        bias = conn.execute(text("SELECT file_id FROM qc.raw_frames WHERE dpr_type = 'BIAS' "
                                 "ORDER BY file_id DESC LIMIT 1")).scalar_one()
        uid = conn.execute(text("SELECT user_id FROM qc.users WHERE username = 'bench'")
                           ).scalar_one()
        pid = conn.execute(text("SELECT project_id FROM qc.projects WHERE name = 'GTO'")
                           ).scalar_one()

    def get(url: str) -> Callable[[], None]:
        def call() -> None:
            resp = client.get(url)
            assert resp.status_code == 200, (url, resp.status_code)
        return call

    def summary_sql() -> None:   # the page's query for every mode
        with engine.connect() as conn:
            conn.execute(text(summary._NIGHTS.format(summary=summary._SUMMARY)), {
                "uid": uid, "project_id": pid, "mode": None, "start": None, "end": None}
                ).all()

    def detail_sql() -> None:
        with engine.connect() as conn:
            for sql in ("SELECT qc.may_see(:u, :f)",
                        "SELECT * FROM qc.ifu_status WHERE file_id = :f",
                        "SELECT name, ifu, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) "
                        "FROM qc.metrics WHERE file_id = :f GROUP BY name, ifu"):
                conn.execute(text(sql), {"u": uid, "f": bias}).all()

    t0 = time.perf_counter()
    n_rows = client.get("/").get_data(as_text=True).count("ESO Climate")
    first_call = time.perf_counter() - t0
    print(f"summary page shows {n_rows} nights; first call after the fill's run ended: "
          f"{first_call * 1e3:.0f} ms")

    with engine.connect() as conn:
        products = conn.execute(text("SELECT file_id FROM qc.products")).scalars().all()
        masters = conn.execute(text("SELECT file_id FROM qc.products "   # not proprietary
                                    "WHERE pro_catg LIKE 'MASTER%'")).scalars().all()

    def one_night_changed(change: str) -> Callable[[], float]:
        def call() -> float:
            with engine.begin() as conn:   # a change outside a run (not timed): the
                conn.execute(text(change), {"f": random.choice(products)})   # summary
            t0 = time.perf_counter()                            # recounts it when read
            get("/")()
            return time.perf_counter() - t0
        return call

    validator = app.test_client()
    token = logged_in(validator, "benchqc")

    def one_night_validated() -> float:
        resp = validator.post(f"/file/{random.choice(masters)}/qa", data={
            "csrf_token": token, "state": random.choice(["Pass", "Fail"]),
            "comment": "bench", "action": "set"})                # not timed
        assert resp.status_code == 302, resp.status_code
        t0 = time.perf_counter()
        get("/")()
        return time.perf_counter() - t0

    changed = one_night_changed("UPDATE qc.qa SET comment = now()::text WHERE file_id = :f")
    changed = statistics.median(changed() for _ in range(repeat))
    metric = one_night_changed("INSERT INTO qc.metrics (file_id, name, value, source) "
                               "VALUES (:f, 'bench.new_' || gen_random_uuid(), 1, 'computed')")
    metric = statistics.median(metric() for _ in range(repeat))
    validated = statistics.median(one_night_validated() for _ in range(repeat))
    return [("summary, first call", first_call, timed(repeat, summary_sql)),
            ("summary of every night", timed(repeat, get("/")), timed(repeat, summary_sql)),
            ("summary, right after a validation", validated, timed(repeat, summary_sql)),
            ("summary, a night changed outside a run", changed, timed(repeat, summary_sql)),
            ("summary, a metric added outside a run", metric, timed(repeat, summary_sql)),
            ("frame page with its 24-IFU grids", timed(repeat, get(f"/file/{bias}")),
             timed(repeat, detail_sql)),
            *history_figures(get, engine, uid, pid, repeat)]


def history_figures(get, engine: Engine, uid: int, pid: int, repeat: int) -> list:
    """The trend of one metric over every night x 24 IFUs, and the nights x IFU heat map
    of every night, each against its SQL alone."""
    from qcservice.viewer import heatmap, trends

    with engine.connect() as conn:
        first, last = conn.execute(text("SELECT min(night), max(night) FROM qc.products")).one()
    span = {"start": first, "end": last}
    where = {"uid": uid, "project_id": pid, "mode": None}

    def sql(query: str, params: dict) -> Callable[[], None]:
        def call() -> None:
            with engine.connect() as conn:
                conn.execute(text(query), params).all()
        return call

    trend_params = {"metric": "master_bias.noise", "ifu": None, "subunit": None,
                    "type": "MASTER_BIAS", **span, **where}
    cells_params = {"type": "MASTER_BIAS", "metric": "master_bias.noise", **span, **where}
    trend_url = (f"/api/trend?metric=master_bias.noise&type=MASTER_BIAS&split=ifu"
                 f"&start={first}&end={last}")
    heat_url = f"/heatmap?cat=bias_red&start={first}&end={last}"
    return [("trend: one metric, every night x 24 IFUs", timed(repeat, get(trend_url)),
             timed(repeat, sql(trends._POINTS, trend_params))),
            ("heat map: every night x 24 IFUs", timed(repeat, get(heat_url)),
             timed(repeat, sql(heatmap._CELLS, cells_params)))]


def _cookie(base: str) -> str:
    import http.cookiejar
    import re
    import urllib.parse

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": "bench", "password": PASSWORD,
                                   "csrf_token": token}).encode()
    opener.open(base + "login", form)
    return "; ".join(f"{c.name}={c.value}" for c in jar if c.name == "musedc_session")


def fetcher(base: str, urls: list[str]) -> Callable[[int], str | None]:
    """One logged-in GET of the k-th URL in turn: None, or what went wrong."""
    cookie = _cookie(base)

    def request(k: int) -> str | None:
        url = base + urls[k % len(urls)].lstrip("/")
        req = urllib.request.Request(url, headers={"Cookie": cookie})
        with urllib.request.urlopen(req, timeout=60) as resp:
            resp.read()
            if resp.status != 200 or resp.url.rstrip("/").endswith("login"):
                return f"{resp.status} {resp.url}"
        return None
    return request


def main() -> int:
    parser = bench_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--nights", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    add_load_arguments(parser, clients=20, seconds=30.0, max_requests=20000)
    parser.add_argument("--no-load", action="store_true",
                        help="page figures only: no concurrent clients")
    args = parser.parse_args()
    if args.quick:
        args.nights, args.repeat, args.clients, args.seconds = 100, 3, 4, 5.0
    report = Report("viewer")

    work, settings = scratch_instance()
    try:
        url = make_engine(settings).url
        engine = create_engine(url, pool_size=10, max_overflow=30, pool_timeout=60)
        t0 = time.perf_counter()
        counts = fill(engine, args.nights)
        print(f"{args.nights} synthetic nights in {time.perf_counter() - t0:.1f} s: "
              + ", ".join(f"{v} {k}" for k, v in counts.items()) + "\n")
        app = create_app(settings, engine)
        print(f"{'figure':<40} {'ms':>9} {'baseline':>9} {'ratio':>7} {'target':>8}")
        for label, server, base in page_figures(app, engine, args.repeat):
            target = 0.300 if label.startswith(("trend", "heat")) else 0.200
            verdict = "ok" if server < target else "SLOW"
            print(f"{label:<40} {server * 1e3:9.1f} {base * 1e3:9.1f} {server / base:7.2f} "
                  f"{f'<{target * 1e3:.0f} ' + verdict:>8}")
            report.add(f"{label} ({args.nights} nights)", server * 1e3, "ms", base * 1e3,
                       "its SQL alone")
            report.check(f"{label}: under {target * 1e3:.0f} ms", server < target)
        print("  (ms: median server time through the Flask test client; baseline: its SQL "
              "alone; ratio > 1: slower than the bare SQL)\n")
        if not args.no_load:
            run_load(settings, app, engine, args, report)
    finally:
        EmbeddedCluster(settings).stop()
        shutil.rmtree(work, ignore_errors=True)
    return report.finish(args.json)


def run_load(settings, app, engine: Engine, args, report: Report) -> None:
    """The concurrent-clients figure against a real server on loopback."""
    with engine.connect() as conn:
        ids = conn.execute(text(
            "SELECT file_id FROM qc.raw_frames WHERE qc.may_see((SELECT user_id FROM qc.users "
            "WHERE username = 'bench'), file_id) ORDER BY random() LIMIT 20")).scalars().all()
        nights = conn.execute(text("SELECT DISTINCT night FROM qc.raw_frames "
                                   "ORDER BY night DESC LIMIT 20")).scalars().all()
    urls = ["/"]
    for k, fid in enumerate(ids):
        urls += [f"/file/{fid}", f"/api/file/{fid}/trend?metric=bias.ron&ifu={k % 24 + 1}",
                 f"/night/{nights[k % len(nights)]}/bias_raw"]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    running = start_viewer(settings, port=0, app=app)
    try:
        request = fetcher(running.url, urls)
        alone = load(request, 1, args.seconds / 5, args.max_requests // 5)
        many = load(request, args.clients, args.seconds, args.max_requests)
    finally:
        running.stop()
    print(f"load on loopback: {many['requests']} requests of {args.clients} clients "
          f"(at most {args.seconds:g} s or {args.max_requests}), {alone['requests']} alone")
    add_load(report, "viewer", alone, many, args.clients)


if __name__ == "__main__":
    sys.exit(main())
