"""Write one catalogued file into the qc schema, replacing what an earlier ingest stored.

A file keeps its ``file_id`` for life (its path is the key); a changed file has its header
rows, its frame or product row, its provenance and its harvested metrics replaced in the
same transaction, so a rerun never duplicates and a crash never leaves half a file.
Metrics computed by QC (source 'computed') are not touched here. A copy of an exposure
already catalogued under another name is kept as a file and recorded as a duplicate of
the first (see ``sql/020_duplicate_exposures.sql``), so the exposure counts once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert

from qcservice.db.schema import Tables
from qcservice.ingest.classify import Classified


@dataclass(frozen=True)
class StoreResult:
    """What storing one file did; a duplicate names the file it copies and why."""

    file_id: int
    created: bool
    duplicate_of: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class FileFacts:
    """What the file system says about a file, plus its checksum."""

    path: str
    size: int
    mtime: dt.datetime
    checksum: str | None


def group_id(conn: Connection, t: Tables, name: str | None, cache: dict[str, int]) -> int | None:
    """The id of the programme group ``name``, created on first sight."""
    if not name:
        return None
    if name not in cache:
        conn.execute(insert(t.groups).values(name=name, kind="programme",
                                             description=f"ESO programme {name}")
                     .on_conflict_do_nothing(index_elements=["name"]))
        cache[name] = conn.execute(select(t.groups.c.group_id)
                                   .where(t.groups.c.name == name)).scalar_one()
    return cache[name]


def store_file(conn: Connection, t: Tables, facts: FileFacts, item: Classified, *,
               project_id: int, run_id: int | None, groups: dict[str, int]) -> StoreResult:
    """Insert or update one file. A raw frame of an exposure already catalogued is
    recorded as its duplicate (``qc.duplicates``): no raw_frames row, no metrics."""
    filename = facts.path.rsplit("/", 1)[-1]
    values = {"path": facts.path, "filename": filename, "size_bytes": facts.size,
              "mtime": facts.mtime, "checksum": facts.checksum, "kind": item.kind,
              "n_hdu": len(item.hdus), "project_id": project_id,
              "owner_group_id": group_id(conn, t, item.prog_id, groups),
              "release_date": item.release_date, "ingest_run_id": run_id,
              "warnings": item.warnings}
    stmt = insert(t.files).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["path"],
        set_={**{k: stmt.excluded[k] for k in values if k != "path"}, "updated_at": func.now()},
    ).returning(t.files.c.file_id, text("(xmax = 0) AS created"))
    file_id, created = conn.execute(stmt).one()

    if not created:   # products cascade to provenance
        for table in (t.hdus, t.raw_frames, t.products, t.duplicates):
            conn.execute(delete(table).where(table.c.file_id == file_id))
        conn.execute(delete(t.metrics).where(t.metrics.c.file_id == file_id,
                                             t.metrics.c.source == "header"))
    conn.execute(insert(t.hdus), [{**h, "file_id": file_id} for h in item.hdus])
    conn.execute(delete(t.ingest_failures).where(t.ingest_failures.c.path == facts.path))
    if item.frame is not None:
        first = original_of(conn, item.frame, file_id)
        if first is not None:
            conn.execute(insert(t.duplicates).values(
                file_id=file_id, original_file_id=first[0], reason=first[1], run_id=run_id))
            for table in (t.metrics, t.ifu_status, t.qa, t.qc_done):   # QC'd before?
                conn.execute(delete(table).where(table.c.file_id == file_id))
            return StoreResult(file_id, bool(created), first[2], first[1])
        conn.execute(insert(t.raw_frames).values(file_id=file_id, **item.frame))
    if item.product is not None:
        conn.execute(insert(t.products).values(file_id=file_id, **item.product))
        if item.provenance:
            conn.execute(insert(t.provenance),
                         [{**p, "file_id": file_id} for p in item.provenance])
    if item.metrics:
        conn.execute(insert(t.metrics),
                     [{**m, "file_id": file_id, "run_id": run_id} for m in item.metrics])
    return StoreResult(file_id, bool(created))


_ORIGINAL = text("""
    SELECT r.file_id, CASE WHEN r.arcfile = :arcfile THEN 'same ARCFILE ' || r.arcfile
                           ELSE 'same DATE-OBS, instrument and DPR keys' END, f.path
    FROM qc.raw_frames r JOIN qc.files f USING (file_id)
    WHERE r.file_id <> :file_id
      AND ((r.arcfile = :arcfile AND r.date_obs = :date_obs)
           OR (r.instrume = :instrume AND r.date_obs = :date_obs AND r.dpr_catg = :dpr_catg
               AND r.dpr_type IS NOT DISTINCT FROM :dpr_type
               AND r.dpr_tech IS NOT DISTINCT FROM :dpr_tech))
    ORDER BY r.arcfile = :arcfile DESC NULLS LAST, r.file_id
    LIMIT 1""")


def original_of(conn: Connection, frame: dict, file_id: int) -> tuple[int, str, str] | None:
    """(file_id, reason, path) of the raw frame already catalogued for this exposure:
    the same ARCFILE, or the same DATE-OBS, instrument and DPR keys (two exposures of
    one instrument never start in the same millisecond). ESO names the archive file
    after DATE-OBS: a file whose ARCFILE names another DATE-OBS than its own was edited,
    and is taken as an exposure of its own."""
    keys = ("arcfile", "instrume", "date_obs", "dpr_catg", "dpr_type", "dpr_tech")
    row = conn.execute(_ORIGINAL, {"file_id": file_id, **{k: frame.get(k) for k in keys}})
    found = row.first()
    return None if found is None else (found[0], found[1], found[2])


# MUSE masters are made nightly and used within days; a month covers a reduction
# with older calibrations, never a same-named file from another season
PROVENANCE_WINDOW_NIGHTS = 31

_RELINK = text("""
    UPDATE qc.provenance p SET input_file_id = best.input_id
    FROM (
        SELECT DISTINCT ON (p.file_id, p.recipe_index, p.role, p.input_index)
               p.file_id, p.recipe_index, p.role, p.input_index, f.file_id AS input_id
        FROM qc.provenance p
        JOIN qc.products prod ON prod.file_id = p.file_id
        JOIN qc.files pf ON pf.file_id = p.file_id
        JOIN qc.files f ON f.filename IN (p.input_name, p.input_name || '.fz')
        LEFT JOIN qc.raw_frames ir ON ir.file_id = f.file_id
        LEFT JOIN qc.products ip ON ip.file_id = f.file_id
        WHERE (p.file_id = ANY(:ids) OR p.input_name = ANY(:names))
          AND NOT EXISTS (SELECT 1 FROM qc.duplicates d WHERE d.file_id = f.file_id)
          AND (COALESCE(ir.night, ip.night) IS NULL
               OR abs(COALESCE(ir.night, ip.night) - prod.night) <= :window)
        ORDER BY p.file_id, p.recipe_index, p.role, p.input_index,
                 abs(COALESCE(ir.night, ip.night) - prod.night),
                 (regexp_replace(f.path, '/[^/]*/[^/]*$', '') =
                  regexp_replace(pf.path, '/[^/]*/[^/]*$', '')) DESC,
                 f.file_id
    ) best
    WHERE (p.file_id, p.recipe_index, p.role, p.input_index)
        = (best.file_id, best.recipe_index, best.role, best.input_index)
      AND p.input_file_id IS DISTINCT FROM best.input_id""")


def relink_provenance(conn: Connection, file_ids: list[int], filenames: list[str]) -> None:
    """Point provenance rows at their inputs, for these products and these input names.

    Pipeline file names repeat from night to night (MASTER_BIAS-01.fits), so an input is
    the file of that name from the night nearest the product's, preferring one in the
    same night folder; archive names (MUSE.<DATE-OBS>.fits) are unique anyway. Nothing
    further than PROVENANCE_WINDOW_NIGHTS away is taken: a same-named file of another
    year is not the input, and an unlinked input is better than a wrong one.
    """
    names = sorted({n for f in filenames for n in (f, f.removesuffix(".fz"))})
    conn.execute(_RELINK, {"ids": file_ids, "names": names, "window": PROVENANCE_WINDOW_NIGHTS})


def record_ingest_failure(conn: Connection, t: Tables, path: str, reason: str, size: int | None,
                   mtime: dt.datetime | None, run_id: int | None) -> None:
    """Remember that ``path`` could not be taken, and why (the newest reason wins)."""
    stmt = insert(t.ingest_failures).values(path=path, reason=reason, size_bytes=size,
                                            mtime=mtime, run_id=run_id)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["path"],
        set_={"reason": stmt.excluded.reason, "size_bytes": stmt.excluded.size_bytes,
              "mtime": stmt.excluded.mtime, "run_id": stmt.excluded.run_id,
              "last_seen": func.now()}))
