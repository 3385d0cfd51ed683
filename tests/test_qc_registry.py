"""One registry of QC tasks: discovery, dispatch and category lists derive from it, and a
new category is one entry plus its function (here a TRACE_TABLE check, run for real)."""

from __future__ import annotations

from pathlib import Path

import pytest
from musefits import write_master
from sqlalchemy import Engine, text

from qcservice.ingest.runner import ingest_paths
from qcservice.qc import jobs
from qcservice.qc.registry import TASKS, QcTask, categories
from qcservice.qc.result import Metric, TaskResult
from qcservice.qc.run import run_qc


def trace_qc(path: str, ifu: int | None) -> TaskResult:
    """A new metric for a new category: the file's size, per IFU."""
    return TaskResult(metrics=[Metric("trace.bytes", Path(path).stat().st_size, "B", ifu)])


def test_lists_derive_from_the_registry() -> None:
    assert categories("raw") == ["BIAS", "DARK", "FLAT,LAMP"]
    assert set(categories("product")) == {"MASTER_BIAS", "MASTER_DARK", "MASTER_FLAT",
                                          "WAVECAL_TABLE", "DATACUBE_FINAL"}
    for entry in TASKS.values():
        assert callable(entry.resolve()), entry.category
    with pytest.raises(ValueError, match="bad kind or inputs"):
        QcTask("X", "raw", "x", "m:f", True, ("colour",))


def test_a_new_category_is_one_entry(engine: Engine, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    trace = write_master(tmp_path / "TRACE_TABLE-04.fits", "TRACE_TABLE", 4, {})
    ingest_paths(engine, [trace], workers=1, checksum=False)
    assert jobs.discover(engine, tmp_path) == []            # not registered: not checked
    monkeypatch.setitem(TASKS, "TRACE_TABLE", QcTask(
        "TRACE_TABLE", "product", "trace", "test_qc_registry:trace_qc", True, ("ifu",)))
    (task,) = jobs.discover(engine, tmp_path)
    assert (task.name, task.category, task.ifu) == ("trace", "TRACE_TABLE", 4)
    report = run_qc(engine, tmp_path / "img", workers=1)
    assert report.ok and report.done == 1
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT m.name, m.ifu, m.value, d.task FROM qc.metrics m "
                                 "JOIN qc.qc_done d USING (file_id) "
                                 "WHERE m.source = 'computed'")).all()
    assert [tuple(r) for r in rows] == [("trace.bytes", 4, trace.stat().st_size, "trace")]
