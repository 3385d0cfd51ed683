"""Ingest of a simulated night: every file classified as the simulator meant it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from qcservice.ingest.runner import ingest_paths
from qcservice.simulate import load_truth, simulate_night


@pytest.fixture(scope="module")
def tiny_night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    truth = simulate_night(out, "2024-03-10", scale="tiny",
                           modes=("WFM-NOAO-N", "NFM-AO-N"), seed=7)
    return truth.directory


@pytest.mark.slow
def test_every_file_classified_as_simulated(engine: Engine, tiny_night: Path) -> None:
    truth = load_truth(tiny_night)
    files = truth["files"]
    broken = {rel for rel, f in files.items() if f["broken"]}
    assert broken, "the standard night has a broken frame"
    report = ingest_paths(engine, [tiny_night], workers=2, checksum=False)
    assert report.new == len(files) - len(broken)
    refused = {str(Path(p).relative_to(tiny_night)) for p, _ in report.failures}
    assert refused == broken

    with engine.connect() as conn:
        raw = {r.rel: r for r in conn.execute(text(
            "SELECT substr(f.path, :n) AS rel, r.* FROM qc.raw_frames r "
            "JOIN qc.files f USING (file_id)"), {"n": len(str(tiny_night)) + 2})}
        prod = {r.rel: r for r in conn.execute(text(
            "SELECT substr(f.path, :n) AS rel, p.* FROM qc.products p "
            "JOIN qc.files f USING (file_id)"), {"n": len(str(tiny_night)) + 2})}
    assert set(raw) | set(prod) == set(files) - broken
    for rel, expected in files.items():
        if rel in broken:
            continue
        row = raw.get(rel) or prod[rel]
        assert (rel in raw) == (expected["kind"] == "raw"), rel
        assert row.night == dt.date.fromisoformat(expected["night"]), rel
        assert row.ins_mode == expected["ins_mode"], rel
        if expected["kind"] == "raw":
            assert (row.dpr_catg, row.dpr_type, row.dpr_tech) == (
                expected["dpr_catg"], expected["dpr_type"], expected["dpr_tech"]), rel
            assert row.n_ifu == 24
        else:
            assert (row.pro_catg, row.ifu) == (expected["pro_catg"], expected["ifu"]), rel


@pytest.mark.slow
def test_simulated_qc_keywords_are_harvested_per_ifu(engine: Engine, tiny_night: Path) -> None:
    ingest_paths(engine, [tiny_night], workers=1, checksum=False)
    with engine.connect() as conn:
        ifus = conn.execute(text(
            "SELECT count(DISTINCT m.ifu), count(DISTINCT m.subunit) FROM qc.metrics m "
            "JOIN qc.products p USING (file_id) "
            "WHERE p.pro_catg = 'MASTER_BIAS' AND m.name = 'QC BIAS MASTERi RON'")).one()
    assert tuple(ifus) == (24, 4)       # 24 IFUs x 4 quadrants


@pytest.mark.slow
def test_provenance_links_inputs_of_the_same_night(engine: Engine, tmp_path: Path) -> None:
    """Pipeline names repeat every night (MASTER_BIAS-01.fits): links stay within a night."""
    from qcservice.simulate import simulate

    simulate(tmp_path, nights=2, scale="tiny", seed=5, start_night="2024-05-01")
    report = ingest_paths(engine, [tmp_path], workers=2, checksum=False)
    assert report.new > 200
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT p.night, COALESCE(ir.night, ip.night) AS input_night, pr.input_name "
            "FROM qc.provenance pr JOIN qc.products p USING (file_id) "
            "LEFT JOIN qc.raw_frames ir ON ir.file_id = pr.input_file_id "
            "LEFT JOIN qc.products ip ON ip.file_id = pr.input_file_id "
            "WHERE pr.input_file_id IS NOT NULL")).all()
        unlinked = conn.execute(text(
            "SELECT DISTINCT input_catg FROM qc.provenance WHERE input_file_id IS NULL")
        ).scalars().all()
    masters = [r for r in rows if r.input_name.startswith("MASTER_")]
    assert len(masters) > 100
    assert all(r.night == r.input_night for r in masters)
    assert "MASTER_BIAS" not in unlinked and "BIAS" not in unlinked


@pytest.mark.slow
def test_provenance_never_links_a_same_named_file_of_another_season(
        engine: Engine, tmp_path: Path) -> None:
    """Without masters of its own night, a product's MASTER_BIAS-01.fits stays unlinked
    rather than linked to the one of a night a year away."""
    from qcservice.ingest.store import PROVENANCE_WINDOW_NIGHTS
    from qcservice.simulate import simulate

    simulate(tmp_path / "a", nights=1, scale="tiny", seed=5, start_night="2024-05-01")
    simulate(tmp_path / "b", nights=1, scale="tiny", seed=6, start_night="2025-05-01")
    for master in (tmp_path / "b").rglob("MASTER_*"):
        master.unlink()
    ingest_paths(engine, [tmp_path], workers=2, checksum=False)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT p.night, pr.input_file_id IS NOT NULL AS linked, "
            "abs(COALESCE(ir.night, ip.night) - p.night) AS gap "
            "FROM qc.provenance pr JOIN qc.products p USING (file_id) "
            "LEFT JOIN qc.raw_frames ir ON ir.file_id = pr.input_file_id "
            "LEFT JOIN qc.products ip ON ip.file_id = pr.input_file_id "
            "WHERE pr.input_name LIKE 'MASTER_%'")).all()
    late = [r for r in rows if r.night.year == 2025]
    early = [r for r in rows if r.night.year == 2024]
    assert late and not any(r.linked for r in late)
    assert early and all(r.linked and r.gap <= PROVENANCE_WINDOW_NIGHTS for r in early)
