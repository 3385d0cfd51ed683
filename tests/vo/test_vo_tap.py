"""TAP against the real DaCHS: ObsCore with the QC columns, QC tables, sync and async,
SIAv2, and publish following the QA state."""

from __future__ import annotations

import pytest
import pyvo
import requests
from sqlalchemy import text

QC_COLUMNS = {"qa_state", "n_valid_ifu", "psf_fwhm_7000", "psf_fwhm_blue", "psf_fwhm_red",
              "sky_residual", "astrometry_rms", "dimm_seeing", "airmass", "ins_mode",
              "prog_id", "obs_release_date"}

pytestmark = pytest.mark.slow


def _obscore(vo_service, where: str = "") -> list[dict]:
    tap = pyvo.dal.TAPService(vo_service.tap)
    result = tap.run_sync("SELECT * FROM ivoa.obscore WHERE obs_collection = 'MUSE-GTO' "
                          + where)
    return [dict(zip(result.fieldnames, row.values(), strict=True)) for row in result]


def test_tap_sync_obscore_has_qc_columns(vo_service):
    rows = _obscore(vo_service)
    assert rows and set(rows[0]) >= QC_COLUMNS
    by_ref = {r["obs_publisher_did"]: r for r in rows}
    mini = by_ref[vo_service.pubdid(vo_service.public)]
    assert mini["dataproduct_type"] == "cube" and mini["qa_state"] == "Pass"
    assert mini["ins_mode"] == "WFM-NOAO-N"
    assert 0.3 < mini["psf_fwhm_7000"] < 2.0          # from the real QC EXPCOMB keywords
    assert mini["em_min"] == pytest.approx(4.75e-7, rel=0.01)
    assert mini["s_region"] is not None


def test_only_publishable_states_reach_obscore(vo_service):
    dids = {r["obs_publisher_did"] for r in _obscore(vo_service)}
    assert vo_service.pubdid(vo_service.failed) not in dids
    assert vo_service.pubdid(vo_service.embargoed) in dids   # metadata is visible


def test_tap_async_and_qc_join(vo_service):
    tap = pyvo.dal.TAPService(vo_service.tap)
    job = tap.submit_job(
        "SELECT o.obs_id, m.name, m.metric_value FROM ivoa.obscore AS o "
        "JOIN muse.metrics AS m ON m.obs_id = o.obs_id "
        "WHERE o.obs_collection = 'MUSE-GTO' AND m.name LIKE 'QC %'")
    job.run()
    job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=60)
    assert job.phase == "COMPLETED"
    result = job.fetch_result()
    job.delete()
    assert len(result) > 0


def test_qc_tables_have_column_metadata(vo_service):
    tap = pyvo.dal.TAPService(vo_service.tap)
    cols = tap.run_sync("SELECT table_name, column_name, description, ucd, unit "
                        "FROM tap_schema.columns WHERE table_name LIKE 'muse.%'")
    names = {(r["table_name"], r["column_name"]) for r in cols}
    assert {("muse.nights", "night"), ("muse.ifu_status", "is_valid"),
            ("muse.metrics", "metric_value"), ("muse.inputs", "catg")} <= names
    assert all(r["description"] for r in cols)
    nights = tap.run_sync("SELECT * FROM muse.nights")
    assert len(nights) >= 1


def test_sia2_by_position_and_band(vo_service):
    did = vo_service.pubdid(vo_service.public)
    mini = _obscore(vo_service, f"AND obs_publisher_did = '{did}'")[0]
    sia = pyvo.dal.SIA2Service(f"{vo_service.url}/__system__/siap2/sitewide/siap2.xml",
                               check_baseurl=False)
    found = sia.search(pos=(mini["s_ra"], mini["s_dec"], 0.001), band=(6e-7, 6.1e-7))
    dids = {r["obs_publisher_did"] for r in found}
    assert vo_service.pubdid(vo_service.public) in dids
    assert not sia.search(pos=(mini["s_ra"], mini["s_dec"], 0.001), band=(2e-6, 3e-6))


def test_publish_is_a_job_run(vo_service):
    """``publish`` is recorded like every run (db.jobruns): closed 'finished' with the
    products published and the report as its message."""
    from qcservice.vo.publish import publish

    report = publish(vo_service.engine, vo_service.instance)
    with vo_service.engine.connect() as conn:
        row = conn.execute(text(
            "SELECT status, n_done, message, finished_at IS NOT NULL AS closed, args "
            "FROM qc.job_runs WHERE kind = 'publish' ORDER BY run_id DESC LIMIT 1")).one()
    assert (row.status, row.n_done, row.message, row.closed) == (
        "finished", report.products, report.describe(), True)
    assert report.products > 0 and "Pass" in row.args["publishable"]


def test_republish_follows_qa_state(vo_service):
    public_did = vo_service.pubdid(vo_service.public)
    file_id = int(vo_service.public.split("/")[1])
    with vo_service.engine.begin() as conn:
        conn.execute(text("UPDATE qc.qa SET state = 'Fail' WHERE file_id = :f"), {"f": file_id})
    try:
        vo_service.republish()
        assert public_did not in {r["obs_publisher_did"] for r in _obscore(vo_service)}
    finally:
        with vo_service.engine.begin() as conn:
            conn.execute(text("UPDATE qc.qa SET state = 'Pass' WHERE file_id = :f"),
                         {"f": file_id})
        vo_service.republish()
    assert public_did in {r["obs_publisher_did"] for r in _obscore(vo_service)}


def test_tap_examples_run(vo_service):
    import re

    from qcservice.vo.instance import TEMPLATE_DIR

    rd = (TEMPLATE_DIR / "userconfig.rd").read_text()
    queries = re.findall(r"\.\. tapquery::\n\n(.*?)\n\t\t\]\]>", rd, re.S)
    assert len(queries) >= 6
    tap = pyvo.dal.TAPService(vo_service.tap)
    for query in queries:
        rows = tap.run_sync("\n".join(line.strip() for line in query.splitlines()))
        assert len(rows) >= 1, query        # every example shows something on real data
    examples = requests.get(f"{vo_service.tap}/examples", timeout=60)
    assert examples.status_code == 200 and "Nights where IFUs failed" in examples.text


def test_ssa_query_finds_the_spectra(vo_service):
    tap = pyvo.dal.TAPService(vo_service.tap)
    first = tap.run_sync("SELECT TOP 1 ssa_location FROM muse.spectra")
    assert len(first) == 1
    ra, dec = (float(v) for v in str(first[0]["ssa_location"]).split()[-2:]) \
        if isinstance(first[0]["ssa_location"], str) else first[0]["ssa_location"][:2]
    ssa = pyvo.dal.SSAService(f"{vo_service.url}/muse/ssa/ssa/ssap.xml")
    found = ssa.search(pos=(ra, dec), diameter=0.01)
    assert len(found) >= 1
    assert all("SPECTRUM_1D" in str(r.acref) for r in found)
    # by BAND too (a spectrum covers 4750-9350 A), and not outside its coverage
    assert len(ssa.search(pos=(ra, dec), diameter=0.01, band=(6e-7, 7e-7))) == len(found)
    assert len(ssa.search(pos=(ra, dec), diameter=0.01, band=(1e-6, 2e-6))) == 0
    em = tap.run_sync("SELECT MIN(em_min) AS lo, MAX(em_max) AS hi FROM ivoa.obscore "
                      "WHERE dataproduct_type = 'spectrum'")[0]
    assert 4.7e-7 < em["lo"] < em["hi"] < 9.4e-7


def test_spectra_are_in_obscore_and_reach_their_datalink(vo_service):
    spectra = _obscore(vo_service, "AND dataproduct_type = 'spectrum'")
    assert spectra
    assert all(r["qa_state"] == "Pass" and r["s_region"] is not None and r["obs_id"]
               and r["ins_mode"] for r in spectra)
    tap = pyvo.dal.TAPService(vo_service.tap)
    result = tap.run_sync("SELECT * FROM ivoa.obscore WHERE obs_collection = 'MUSE-GTO' "
                          "AND dataproduct_type = 'spectrum'")
    # the TAP result's DataLink descriptor (ivoa.obscore's) forwards to muse/q#dl
    links = [{r["semantics"]: r for r in dl} for dl in result.iter_datalinks()]
    assert len(links) == len(spectra)
    assert all("#this" in s for s in links)
    cubes = [s["#progenitor"] for s in links if "#progenitor" in s]
    assert cubes and all("DATACUBE_FINAL" in c["access_url"] for c in cubes)


def test_cube_datalink_from_an_obscore_result(vo_service):
    tap = pyvo.dal.TAPService(vo_service.tap)
    did = vo_service.pubdid(vo_service.embargoed)
    result = tap.run_sync(f"SELECT * FROM ivoa.obscore WHERE obs_publisher_did = '{did}'")
    semantics = {r["semantics"] for dl in result.iter_datalinks() for r in dl}
    assert {"#this", "#cutout", "#calibration", "#progenitor", "#auxiliary"} <= semantics \
        or {"#this", "#proc", "#calibration", "#progenitor", "#auxiliary"} <= semantics


def test_n_valid_ifu_comes_from_the_cube_and_its_inputs(vo_service):
    cube = int(vo_service.embargoed.split("/")[1])
    with vo_service.engine.begin() as conn:
        inputs = conn.execute(text(
            "SELECT v.input_file_id AS f, v.role, p.ifu FROM qc.provenance v "
            "LEFT JOIN qc.products p ON p.file_id = v.input_file_id "
            "WHERE v.file_id = :c AND v.input_file_id IS NOT NULL"), {"c": cube}).all()
        raw = next(r.f for r in inputs if r.role == "raw")
        master = next(r for r in inputs if r.role == "calib" and r.ifu not in (None, 5))
        conn.execute(text("INSERT INTO qc.ifu_status (file_id, ifu, is_valid) "
                          "SELECT :f, i, i <> 5 FROM generate_series(1, 24) AS i"), {"f": raw})
        conn.execute(text("INSERT INTO qc.ifu_status (file_id, ifu, is_valid) "
                          "VALUES (:f, :i, false)"), {"f": master.f, "i": master.ifu})
    try:
        vo_service.republish()
        by_did = {r["obs_publisher_did"]: r for r in _obscore(vo_service)}
        assert by_did[vo_service.pubdid(vo_service.embargoed)]["n_valid_ifu"] == 22
        assert by_did[vo_service.pubdid(vo_service.public)]["n_valid_ifu"] in (None, -1)
    finally:
        with vo_service.engine.begin() as conn:
            conn.execute(text("DELETE FROM qc.ifu_status WHERE file_id = ANY(:f)"),
                         {"f": [raw, master.f]})
        vo_service.republish()
