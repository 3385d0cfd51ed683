"""The QC tasks, one entry per category of file (DPR TYPE of a raw frame, PRO CATG of a
product): which function checks it, whether it is one IFU's file or the whole field,
and what it needs besides its path. Discovery (which files need QC), dispatch (which
function runs) and the category lists all derive from :data:`TASKS`, so a metric for a
new category is one entry here, its function, and its thresholds.

Functions are named by module and attribute and imported in the worker on first use:
a worker process pays only for what it runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qcservice.qc.jobs import Task
    from qcservice.qc.result import TaskResult

# What a task may need besides its file; each is a field of jobs.Task.
INPUTS = frozenset({"category", "ifu", "exptime", "partner", "seeing", "image_dir"})


@dataclass(frozen=True)
class QcTask:
    """How files of one category are checked."""

    category: str
    kind: str                  # 'raw' (qc.raw_frames) or 'product' (qc.products)
    name: str                  # the task's name in qc.qc_done
    function: str              # 'module:attribute', called as f(path, *inputs)
    per_ifu: bool              # a file per IFU (or a raw frame of 24), not the whole field
    inputs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("raw", "product") or not set(self.inputs) <= INPUTS:
            raise ValueError(f"QC task {self.category}: bad kind or inputs {self.inputs}")

    def resolve(self) -> Callable[..., TaskResult]:
        module, attribute = self.function.split(":")
        return getattr(importlib.import_module(module), attribute)

    def run(self, task: Task) -> TaskResult:
        return self.resolve()(task.path, *(getattr(task, k) for k in self.inputs))


TASKS: dict[str, QcTask] = {t.category: t for t in (
    QcTask("BIAS", "raw", "raw", "qcservice.qc.raw:raw_frame_qc", True,
           ("category", "exptime", "partner", "image_dir")),
    QcTask("DARK", "raw", "raw", "qcservice.qc.raw:raw_frame_qc", True,
           ("category", "exptime", "partner", "image_dir")),
    QcTask("FLAT,LAMP", "raw", "raw", "qcservice.qc.raw:raw_frame_qc", True,
           ("category", "exptime", "partner", "image_dir")),
    QcTask("MASTER_BIAS", "product", "master", "qcservice.qc.masters:master_bias_qc", True,
           ("ifu", "image_dir")),
    QcTask("MASTER_DARK", "product", "master", "qcservice.qc.masters:master_dark_qc", True,
           ("ifu", "image_dir")),
    QcTask("MASTER_FLAT", "product", "master", "qcservice.qc.masters:master_flat_qc", True,
           ("ifu", "image_dir")),
    QcTask("WAVECAL_TABLE", "product", "wavecal", "qcservice.qc.masters:wavecal_qc", True,
           ("ifu",)),
    QcTask("DATACUBE_FINAL", "product", "cube", "qcservice.qc.cubeqc:cube_qc", False,
           ("image_dir", "seeing")),
)}


def categories(kind: str) -> list[str]:
    """The categories of raw frames ('raw') or of products ('product') QC checks."""
    return [c for c, t in TASKS.items() if t.kind == kind]
