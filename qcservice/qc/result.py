"""What a QC task returns: metrics and images, plain data that crosses process borders."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Metric:
    """One computed value: ``name`` for IFU ``ifu`` (None: whole file), sub-unit ``subunit``
    (``Q1``..``Q4`` for quadrants, ``S12`` for slice 12, ``7000`` for a wavelength in A)."""

    name: str
    value: float | None
    unit: str = ""
    ifu: int | None = None
    subunit: str | None = None


@dataclass(frozen=True)
class Image:
    """An image or plot QC saved as a file."""

    kind: str
    path: str
    title: str = ""
    ifu: int | None = None
    mime: str = "image/png"


@dataclass
class TaskResult:
    metrics: list[Metric] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
