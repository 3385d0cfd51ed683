"""One ``musedc reduce``: plan each night, run what is not done, record, catalogue.

Incremental and idempotent like QC: a recipe run is done again only when it never
succeeded, when its inputs or parameters changed (``input_digest``), when a product
it wrote is gone, or when a run it depends on is done again. Each result is recorded
in its own transaction as it arrives (``qc.recipe_runs``); a run killed in the middle
leaves ``running`` rows that the next run simply does again. Products of successful
runs are then catalogued (``musedc ingest``: QC1 keywords harvested, provenance) and
linked to the run that made them (``qc.recipe_run_products``).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, text

from qcservice.db.jobruns import job_run
from qcservice.reduce.associate import STEPS, Frame, RunSpec, blocked_by_failures, plan_night
from qcservice.reduce.esorex import RunResult
from qcservice.reduce.oca import Rules, default_rules
from qcservice.reduce.schedule import execute
from qcservice.reduce.statics import static_frames
from qcservice.vocabulary import IFUS

_RAWS = text("""
    SELECT f.file_id, f.path, f.checksum, f.updated_at, r.night, h.header
    FROM qc.files f JOIN qc.raw_frames r USING (file_id)
    JOIN qc.hdus h ON h.file_id = f.file_id AND h.hdu_index = 0
    WHERE (CAST(:a AS date) IS NULL OR r.night >= :a)
      AND (CAST(:b AS date) IS NULL OR r.night <= :b)
    ORDER BY r.night, r.date_obs, f.file_id""")


@dataclass
class ReduceReport:
    run_id: int = 0
    ok: int = 0
    skipped: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    blocked: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.ok} recipe runs ok, {self.skipped} already done, "
                f"{len(self.failures)} failed, {len(self.blocked)} blocked")


def load_raws(engine: Engine, rules: Rules, night_from: dt.date | None,
              night_to: dt.date | None) -> dict[dt.date, list[Frame]]:
    """The catalogued raw frames per night, classified by the OCA rules."""
    nights: dict[dt.date, list[Frame]] = {}
    with engine.connect() as conn:
        for r in conn.execute(_RAWS, {"a": night_from, "b": night_to}):
            frame = Frame(r.path, rules.classify_frame(r.header), None, r.file_id)
            frame.header["_stamp"] = r.checksum or r.updated_at.isoformat()
            nights.setdefault(r.night, []).append(frame)
    return nights


def _done(conn, specs: list[RunSpec]) -> set[str]:
    """run_keys already reduced with the same inputs, products still on disk; a run
    whose dependency is redone is redone too (specs are in dependency order)."""
    rows = {r.run_key: r for r in conn.execute(text(
        "SELECT run_key, status, input_digest, outputs FROM qc.recipe_runs "
        "WHERE run_key = ANY(:k)"), {"k": [s.run_key for s in specs]})}
    done: set[str] = set()
    for spec in specs:
        row = rows.get(spec.run_key)
        if (row and row.status == "ok" and row.input_digest == spec.digest()
                and all(Path(o["path"]).is_file() for o in row.outputs)
                and all(d in done for d in spec.depends)):
            done.add(spec.run_key)
    return done


_UPSERT = text("""
    INSERT INTO qc.recipe_runs (run_key, recipe, night, ifu, ins_mode, status, inputs,
        outputs, params, input_digest, message, log, duration_s, peak_mem_mb, workdir,
        started_at, finished_at, job_run_id)
    VALUES (:run_key, :recipe, :night, :ifu, :ins_mode, :status, CAST(:inputs AS jsonb),
        CAST(:outputs AS jsonb), CAST(:params AS jsonb), :digest, :message, :log,
        :duration, :mem, :workdir, now() - make_interval(secs => :duration), now(), :job)
    ON CONFLICT (run_key) DO UPDATE SET recipe = EXCLUDED.recipe, night = EXCLUDED.night,
        ifu = EXCLUDED.ifu, ins_mode = EXCLUDED.ins_mode, status = EXCLUDED.status,
        inputs = EXCLUDED.inputs, outputs = EXCLUDED.outputs, params = EXCLUDED.params,
        input_digest = EXCLUDED.input_digest, message = EXCLUDED.message,
        log = EXCLUDED.log, duration_s = EXCLUDED.duration_s,
        peak_mem_mb = EXCLUDED.peak_mem_mb, workdir = EXCLUDED.workdir,
        started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at,
        job_run_id = EXCLUDED.job_run_id""")


def _record(engine: Engine, spec: RunSpec, status: str, job: int,
            result: RunResult | None = None, message: str = "") -> None:
    inputs = result.inputs if result and result.inputs else \
        [{"path": p, "tag": t} for p, t in spec.inputs]
    with engine.begin() as conn:
        conn.execute(_UPSERT, {
            "run_key": spec.run_key, "recipe": spec.recipe, "night": spec.night,
            "ifu": spec.ifu, "ins_mode": spec.ins_mode, "status": status,
            "inputs": json.dumps(inputs), "params": json.dumps(spec.params),
            "outputs": json.dumps(result.outputs if result else []),
            "digest": spec.digest(), "message": result.message if result else message,
            "log": result.log if result else "",
            "duration": result.duration_s if result else 0.0,
            "mem": result.peak_mem_mb if result else None, "workdir": spec.workdir,
            "job": job})


def plan(engine: Engine, work_root: Path, night_from: dt.date | None = None,
         night_to: dt.date | None = None, ifus: list[int] | None = None,
         steps: tuple[str, ...] = STEPS, static_dir: Path | None = None,
         rules: Rules | None = None, timeout_s: float = 600.0) -> list[RunSpec]:
    """Every recipe run of the nights in the range, in dependency order."""
    rules = rules or default_rules()
    statics = static_frames(rules, static_dir)
    specs: list[RunSpec] = []
    for night, raws in sorted(load_raws(engine, rules, night_from, night_to).items()):
        specs += plan_night(rules, night, raws, statics, ifus or list(IFUS),
                            str(work_root), steps, timeout_s)
    return specs


def run_reduce(engine: Engine, work_root: Path, *, night_from: dt.date | None = None,
               night_to: dt.date | None = None, ifus: list[int] | None = None,
               steps: tuple[str, ...] = STEPS, static_dir: Path | None = None,
               workers: int = 1, scheduler: str | None = None,
               catalogue: bool = True, timeout_s: float = 600.0) -> ReduceReport:
    """Reduce what is not reduced yet; see the module docstring."""
    specs = plan(engine, work_root, night_from, night_to, ifus, steps, static_dir,
                 timeout_s=timeout_s)
    report = ReduceReport()
    args = {"night_from": night_from, "night_to": night_to, "ifus": ifus,
            "steps": list(steps), "workers": workers, "scheduler": scheduler}
    with job_run(engine, "reduce", args) as run:
        report.run_id = run.run_id
        with engine.connect() as conn:
            done = _done(conn, specs)
        report.skipped = len(done)
        todo = [s for s in specs if s.run_key not in done]
        by_key = {s.run_key: s for s in todo}
        failed: dict[str, str] = {}
        runnable = []
        for spec in todo:
            why = spec.blocked or blocked_by_failures(spec, failed)
            if why:
                failed[spec.run_key] = "was blocked"
                report.blocked.append((spec.run_key, why))
                _record(engine, spec, "blocked", run.run_id, message=why)
            else:
                runnable.append(spec)
        for spec in runnable:
            _record(engine, spec, "running", run.run_id)
        finished = set()
        for result in execute(runnable, workers, scheduler):
            spec = by_key[result.run_key]
            finished.add(spec.run_key)
            _record(engine, spec, result.status, run.run_id, result)
            if result.status == "ok":
                report.ok += 1
            else:
                failed[spec.run_key] = "failed"
                report.failures.append((spec.run_key, result.message))
        for spec in runnable:   # never submitted: a run they need failed (or was blocked)
            if spec.run_key not in finished and (why := blocked_by_failures(spec, failed)):
                failed[spec.run_key] = "was blocked"
                report.blocked.append((spec.run_key, why))
                _record(engine, spec, "blocked", run.run_id, message=why)
        if catalogue:
            catalogue_products(engine)
        run.done, run.skipped, run.failed = report.ok, report.skipped, len(report.failures)
        run.had_work, run.message = bool(todo), report.summary()
    return report


def catalogue_products(engine: Engine) -> None:
    """Ingest the products of successful runs and link them to their run."""
    from qcservice.ingest.runner import ingest_paths

    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT recipe_run_id, outputs FROM qc.recipe_runs WHERE status = 'ok'")).all()
    paths = [o["path"] for r in rows for o in r.outputs if Path(o["path"]).is_file()]
    if not paths:
        return
    ingest_paths(engine, paths)
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO qc.recipe_run_products (recipe_run_id, file_id)
            SELECT r.recipe_run_id, f.file_id
            FROM qc.recipe_runs r, jsonb_array_elements(r.outputs) o
            JOIN qc.files f ON f.path = o->>'path'
            WHERE r.status = 'ok'
            ON CONFLICT DO NOTHING"""))
