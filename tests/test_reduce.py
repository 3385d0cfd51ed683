"""musedc reduce: the official MUSE pipeline (Debian esorex + cpl-plugin-muse) run on a
simulated night, recipe by recipe, recorded in qc.recipe_runs.

At the tiny scale muse_bias and muse_dark run, and muse_flat cannot trace the slices
(the pipeline wants slices ~76 pixels wide, i.e. the full 4096-column CCD): that real
failure is what the failure handling is tested with. The cascade on full-size frames
is the acceptance run of bench/bench_reduce.py.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from qcservice.ingest.runner import ingest_paths
from qcservice.reduce.run import plan, run_reduce
from qcservice.simulate import simulate_night

pytestmark = pytest.mark.usefixtures("esorex")   # musedc reduce runs it
NIGHT = dt.date(2015, 3, 4)
IFUS = [3, 7]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    return simulate_night(tmp_path_factory.mktemp("night"), NIGHT, scale="tiny", seed=8,
                          workers=2)


@pytest.fixture
def ingested(engine: Engine, tiny) -> Engine:
    ingest_paths(engine, [tiny.directory / "raw"], workers=1, checksum=True)
    return engine


def runs(engine: Engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        return {r.run_key: (r.status, r.message.splitlines()[0] if r.message else "",
                            tuple(o["data_sha256"] for o in r.outputs))
                for r in conn.execute(text("SELECT * FROM qc.recipe_runs"))}


def test_association_follows_the_pipeline_rules(ingested: Engine, tmp_path: Path,
                                                tiny) -> None:
    specs = plan(ingested, tmp_path, ifus=IFUS)
    by_action: dict[str, list] = {}
    for s in specs:
        by_action.setdefault(s.action, []).append(s)
    biases = [p for p, r in tiny.files.items() if r.kind == "raw" and r.dpr_type == "BIAS"]
    bias_run = by_action["muse_bias"][0]
    assert [t for _, t in bias_run.inputs] == ["BIAS"] * len(bias_run.inputs)
    # the broken bias has no DATE-OBS: ingest refused it, so reduce never sees it
    assert len(bias_run.inputs) == len(biases) - 1
    flat = next(s for s in by_action["muse_flat"] if s.ifu == 7)
    tags = [t for _, t in flat.inputs]
    flats = [p for p, r in tiny.files.items() if r.kind == "raw" and r.dpr_type == "FLAT,LAMP"]
    assert sorted(p for p, t in flat.inputs if t == "FLAT") == \
        sorted(str(tiny.directory / p) for p in flats)
    (bias_in,) = [p for p, t in flat.inputs if t == "MASTER_BIAS"]
    assert bias_in.endswith("IFU07/MASTER_BIAS-07.fits")
    assert flat.depends == [next(s.run_key for s in by_action["muse_bias"] if s.ifu == 7)]
    assert "MASTER_DARK" not in tags   # muse.oca: maxRet = 0, darks are not used
    wave = next(s for s in by_action["muse_wave"] if s.ifu == 3)
    assert wave.blocked and "LINE_CATALOG" in wave.blocked


def test_reduce_records_runs_failures_and_is_idempotent(ingested: Engine,
                                                       tmp_path: Path, tiny) -> None:
    report = run_reduce(ingested, tmp_path / "work", ifus=IFUS, workers=2)
    got = runs(ingested)
    ok = {k for k, v in got.items() if v[0] == "ok"}
    assert {k.split("/")[1] for k in ok} == {"muse_bias", "muse_dark"}
    assert len(ok) == 2 * len(IFUS) == report.ok
    flats = {k: v for k, v in got.items() if "/muse_flat/" in k}
    assert {v[0] for v in flats.values()} == {"failed"}
    assert all("too narrow" in v[1] or "slice" in v[1].lower() for v in flats.values()), flats
    assert {v[0] for k, v in got.items() if "/muse_wave/" in k} == {"blocked"}
    # and what needs a blocked run is blocked too, down to the cubes: nothing "running"
    after = {k.split("/")[1]: v[0] for k, v in got.items() if v[0] != "ok"}
    assert after == {"muse_flat": "failed", "muse_wave": "blocked", "muse_scibasic": "blocked",
                     "muse_scipost": "blocked", "muse_exp_combine": "blocked"}
    # pipeline products are catalogued with their QC1, linked to their run
    with ingested.connect() as conn:
        n, catg = conn.execute(text(
            "SELECT count(*), array_agg(DISTINCT p.pro_catg) FROM qc.recipe_run_products "
            "JOIN qc.products p USING (file_id)")).one()
        ron = conn.execute(text(
            "SELECT count(*) FROM qc.metrics m JOIN qc.recipe_run_products USING (file_id) "
            "WHERE m.name LIKE 'QC BIAS MASTER_ RON'")).scalar()
    assert n == 2 * len(IFUS) and set(catg) == {"MASTER_BIAS", "MASTER_DARK"}
    assert ron == 4 * len(IFUS)
    # rerun: the successful runs are not done again; the failed ones are retried
    again = run_reduce(ingested, tmp_path / "work", ifus=IFUS, workers=1)
    assert again.ok == 0 and again.skipped == 2 * len(IFUS)
    assert len(again.failures) == len(flats)
    assert runs(ingested) == got


def products(engine: Engine) -> dict[str, tuple]:
    """Per run (night/recipe/group/IFU): status and the checksums of its data."""
    return {k: (v[0], v[2]) for k, v in runs(engine).items()}


def test_dask_with_two_workers_gives_identical_products(ingested: Engine, tmp_path: Path,
                                                       pg_settings, tiny) -> None:
    from distributed import LocalCluster
    from sqlalchemy import create_engine
    from support import fresh_database

    run_reduce(ingested, tmp_path / "local", ifus=IFUS, workers=1, catalogue=False)
    expected = products(ingested)
    assert sum(v[0] == "ok" for v in expected.values()) == 2 * len(IFUS)
    with fresh_database(pg_settings) as url, \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=None) as cluster:
        other = create_engine(url)
        ingest_paths(other, [tiny.directory / "raw"], workers=1, checksum=True)
        report = run_reduce(other, tmp_path / "dask", ifus=IFUS,
                            scheduler=cluster.scheduler_address, catalogue=False)
        got = products(other)
        other.dispose()
    assert report.ok == 2 * len(IFUS)
    assert got == expected


def test_killed_reduction_ends_like_an_undisturbed_one(cli_env: dict, ingested: Engine,
                                                      tmp_path: Path, pg_settings,
                                                      tiny) -> None:
    from sqlalchemy import create_engine
    from support import fresh_database

    cmd = [sys.executable, "-m", "qcservice", "reduce", "--ifu", "3,7", "-j", "1",
           "--work", str(tmp_path / "work")]
    proc = subprocess.Popen(cmd, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    n = 0
    while time.monotonic() < deadline and proc.poll() is None:
        with ingested.connect() as conn:
            n = conn.execute(text("SELECT count(*) FROM qc.recipe_runs "
                                  "WHERE status = 'ok'")).scalar()
        if n >= 2:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    partial = products(ingested)
    assert 2 <= n < 2 * len(IFUS), "the kill must land in the middle of the reduction"
    assert any(v[0] == "running" for v in partial.values())
    rerun = subprocess.run(cmd, env=cli_env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 1 and "FAILED" in rerun.stderr   # the flats, as always
    assert "too narrow" in rerun.stderr
    with fresh_database(pg_settings) as url:
        clean = create_engine(url)
        ingest_paths(clean, [tiny.directory / "raw"], workers=1, checksum=True)
        run_reduce(clean, tmp_path / "work-clean", ifus=IFUS, workers=1)
        expected = products(clean)
        clean.dispose()
    assert products(ingested) == expected
    leftovers = list((tmp_path / "work").rglob("*.part"))
    assert all(p.parent.name == "muse_flat" or "muse_flat" in str(p) for p in leftovers)


def test_pipeline_products_are_qcd_and_agree_with_our_qc(ingested: Engine, tmp_path: Path,
                                                        tiny) -> None:
    """The pipeline's own read noise (QC BIAS MASTERn RON, harvested at ingest) against
    the project's QC of the same raw biases (bias.ron_e) and the injected truth."""
    from qcservice.qc.run import run_qc

    run_reduce(ingested, tmp_path / "work", ifus=IFUS, workers=1,
               steps=("muse_bias", "muse_dark"))
    report = run_qc(ingested, tmp_path / "img", workers=1)
    assert report.ok, report.failures
    noisy = tiny.to_dict()["faults"][0]
    assert noisy["kind"] == "noisy_ifu"
    with ingested.connect() as conn:
        pipeline = dict(conn.execute(text("""
            SELECT p.ifu || '/' || m.subunit, m.value FROM qc.metrics m
            JOIN qc.products p USING (file_id) JOIN qc.recipe_run_products USING (file_id)
            WHERE m.name = 'QC BIAS MASTERi RON'""")).all())
        ours = conn.execute(text("""
            SELECT m.ifu || '/' || right(m.subunit, 1), avg(m.value) FROM qc.metrics m
            JOIN qc.raw_frames r USING (file_id)
            WHERE m.name = 'bias.ron_e' AND m.ifu = ANY(:i) GROUP BY 1"""),
            {"i": IFUS}).all()
        states = dict(conn.execute(text("""
            SELECT p.ifu, q.auto_state FROM qc.qa q JOIN qc.products p USING (file_id)
            JOIN qc.recipe_run_products USING (file_id) WHERE p.pro_catg = 'MASTER_BIAS'
            """)).all())
    assert len(ours) == 4 * len(IFUS) and set(pipeline) == {k for k, _ in ours}
    truth = tiny.detector["ifus"]
    for key, value in ours:
        ifu, q = key.split("/")
        factor = 3.0 if int(ifu) == noisy["ifu"] else 1.0
        assert pipeline[key] == pytest.approx(value, rel=0.05), key
        assert pipeline[key] == pytest.approx(factor * truth[ifu]["quadrants"][q]["ron_e"],
                                              rel=0.05), key
    assert set(states) == set(IFUS)
    for ifu, state in states.items():
        assert (state != "Pass") == (ifu == noisy["ifu"]), (ifu, state)


def test_product_page_shows_its_recipe_run(ingested: Engine, tmp_path: Path,
                                          settings) -> None:
    import re

    from qcservice.users import add_user
    from qcservice.viewer import create_app

    run_reduce(ingested, tmp_path / "work", ifus=[7], workers=1, steps=("muse_bias",))
    with ingested.begin() as conn:
        add_user(conn, "vera", "qc_scientist", "a long enough password")
        file_id = conn.execute(text("SELECT file_id FROM qc.recipe_run_products")).scalar()
    client = create_app(settings, ingested, {"TESTING": True}).test_client()
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    client.post("/login", data={"username": "vera", "password": "a long enough password",
                                "csrf_token": token})
    page = client.get(f"/file/{file_id}").get_data(as_text=True)
    assert re.search(r"muse_bias: ok, \d+\.\d s, \d+ MB", page), page[:3000]
    assert "BIAS: " in page and "MUSE Instrument Pipeline" in page   # inputs and the log


def test_a_recipe_over_its_time_is_killed_and_recorded(ingested: Engine,
                                                       tmp_path: Path) -> None:
    # no time at all: killed at the first look, before any recipe can have finished
    report = run_reduce(ingested, tmp_path / "work", ifus=[7], workers=1,
                        steps=("muse_bias", "muse_dark"), timeout_s=0.0, catalogue=False)
    assert report.ok == 0 and len(report.failures) == 1
    (key, message), = report.failures
    assert "/muse_bias/" in key and message.startswith("muse_bias killed after 0 s")
    (dark, why), = report.blocked   # the dark needs that master bias
    assert "/muse_dark/" in dark and why == f"needs the products of {key}, which failed"
    assert not (tmp_path / "work" / key).exists()   # no folder that looks finished


def test_cli_statics_and_runs(cli_env: dict, ingested: Engine, tmp_path: Path) -> None:
    musedc = [sys.executable, "-m", "qcservice"]
    out = subprocess.run([*musedc, "reduce", "statics", str(tmp_path / "static")],
                         env=cli_env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    catalog = tmp_path / "static" / "line_catalog.fits"
    assert str(catalog) in out.stdout.split()
    from astropy.io import fits

    with fits.open(catalog) as hdul:
        assert hdul[0].header["VERSION"] == 3 and hdul[0].header["ESO PRO CATG"] == \
            "LINE_CATALOG"
        lines = hdul[1].data
    from qcservice.simulate.spectra import ARC_LINES

    assert sorted(lines["lambda"].astype(float)) == pytest.approx(sorted(w for w, _ in ARC_LINES))
    assert set(lines["ion"]) == {"HgI", "CdI", "NeI", "XeI"}
    run = subprocess.run([*musedc, "reduce", "--ifu", "7", "--steps", "muse_bias,muse_wave",
                          "--static", str(tmp_path / "static"), "--work", str(tmp_path / "w")],
                         env=cli_env, capture_output=True, text=True, timeout=300)
    # the arc needs a TRACE_TABLE, and muse_flat was not asked for: blocked, named
    assert run.returncode == 0 and "BLOCKED" in run.stderr and "TRACE_TABLE" in run.stderr
    listing = subprocess.run([*musedc, "reduce", "runs", "--night", NIGHT.isoformat()],
                             env=cli_env, capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0
    rows = sorted(listing.stdout.splitlines(), key=lambda r: "muse_bias" not in r)
    assert len(rows) == 2 and rows[0].startswith("ok") and "/muse_bias/" in rows[0]
    assert rows[1].startswith("blocked") and "no TRACE_TABLE" in rows[1]


def test_arc_run_takes_the_three_lamps_and_the_static_catalogue(ingested: Engine,
                                                                tmp_path: Path) -> None:
    from qcservice.simulate.statics import write_statics

    write_statics(tmp_path, "static")
    specs = plan(ingested, tmp_path / "work", ifus=[7], static_dir=tmp_path / "static")
    (wave,) = [s for s in specs if s.action == "muse_wave"]
    tags = sorted(t for _, t in wave.inputs)
    assert tags == ["ARC", "ARC", "ARC", "LINE_CATALOG", "MASTER_BIAS", "TRACE_TABLE"]
    assert wave.blocked is None
    assert [p for p, t in wave.inputs if t == "LINE_CATALOG"] == \
        [str((tmp_path / "static" / "line_catalog.fits").resolve())]
    assert sorted(d.split("/")[1] for d in wave.depends) == ["muse_bias", "muse_flat"]
    lamps = set()
    from astropy.io import fits

    for path, tag in wave.inputs:
        if tag == "ARC":
            h = fits.getheader(path)
            lamps |= {h[f"ESO INS LAMP{i} NAME"] for i in (1, 2, 3)
                      if h[f"ESO INS LAMP{i} ST"] and h[f"ESO INS SHUT{i} ST"]}
    assert lamps == {"CU-LAMP-HgCd", "CU-LAMP-Ne", "CU-LAMP-Xe"}


def test_science_runs_per_exposure_then_one_scipost_per_exposure(ingested: Engine,
                                                                 tmp_path: Path, tiny) -> None:
    from qcservice.simulate.statics import write_statics

    write_statics(tmp_path, "static")
    specs = plan(ingested, tmp_path / "work", ifus=IFUS, static_dir=tmp_path / "static")
    objects = sorted(str(tiny.directory / p) for p, r in tiny.files.items()
                     if r.kind == "raw" and r.dpr_type == "OBJECT")
    basic = [s for s in specs if s.action == "muse_scibasic"]
    assert sorted({p for s in basic for p, t in s.inputs if t == "OBJECT"}) == objects
    assert len(basic) == len(objects) * len(IFUS)
    for s in basic:
        tags = sorted(t for _, t in s.inputs)
        assert tags == ["GEOMETRY_TABLE", "MASTER_BIAS", "MASTER_FLAT", "OBJECT",
                        "TRACE_TABLE", "WAVECAL_TABLE"] and s.blocked is None
        assert s.params == ["--saveimage=FALSE"]   # muse.oca's, but --nifu and --merge
    post = [s for s in specs if s.action == "muse_scipost"]
    assert len(post) == len(objects)
    for s in post:
        pixtables = [p for p, t in s.inputs if t == "PIXTABLE_OBJECT"]
        # every IFU's pixel table of one exposure, made by that exposure's runs
        assert [p.rsplit("-", 1)[1] for p in pixtables] == [f"{i:02d}.fits" for i in IFUS]
        assert len({p.split("/")[-3] for p in pixtables}) == 1
        assert s.depends == sorted(b.run_key for b in basic
                                   if b.run_key.split("/")[2] == pixtables[0].split("/")[-3])
        (response,) = [p for p, t in s.inputs if t == "STD_RESPONSE"]
        assert response.endswith(f"std_response_{s.ins_mode.lower()}.fits")
        assert {t for _, t in s.inputs} == {"PIXTABLE_OBJECT", "FILTER_LIST", "EXTINCT_TABLE",
                                            "STD_RESPONSE"}
        # muse.oca's filters; its --skymethod=none replaced, not doubled (esorex gets one)
        assert s.ifu is None and [o for o in s.params if o.startswith("--skymethod")] == [
            "--skymethod=simple"] and "--filter=white,Johnson_V,Cousins_R,Cousins_I" in s.params
        # a cube of some IFUs is not the cube of all: its own run, its own folder
        assert s.run_key.endswith("/IFU03+07") and s.workdir.endswith(s.run_key)
    # then each OB's exposures combined (the offline step muse.oca leaves out)
    combine = [s for s in specs if s.action == "muse_exp_combine"]
    assert len(combine) == len(tiny.cubes)
    for s in combine:
        reduced = [p for p, t in s.inputs if t == "PIXTABLE_REDUCED"]
        made_by = {q.run_key for q in post for p in reduced
                   if p.startswith(q.workdir + "/")}
        assert len(reduced) == len(made_by) >= 2 and s.depends == sorted(made_by)
        assert {t for _, t in s.inputs} == {"PIXTABLE_REDUCED", "FILTER_LIST"}
