"""From metric values to flags, per-IFU validity and the product's QA state.

The rules (automatic; a QC scientist's decision always outranks them):
- a metric crossing a warning limit raises its threshold's flag; crossing an error limit
  raises it as an error;
- an IFU with an error flag is invalid;
- QA state: Fail when a whole-product metric is in error or every measured IFU is
  invalid; Check when only some IFUs are invalid ("3 of 24 flagged" needs a look);
  Usable when there are only warnings; Pass otherwise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from qcservice.qc.thresholds import ThresholdSet


@dataclass
class Verdict:
    """Flags and validity of one file, per IFU and for the whole file."""

    ifu_flags: dict[int, dict[str, str]] = field(default_factory=dict)   # ifu -> flag -> level
    file_flags: dict[str, str] = field(default_factory=dict)
    measured_ifus: set[int] = field(default_factory=set)

    def raise_flag(self, ifu: int | None, flag: str, level: str) -> None:
        target = self.file_flags if ifu is None else self.ifu_flags.setdefault(ifu, {})
        if target.get(flag) != "error":
            target[flag] = level

    def invalid_ifus(self) -> list[int]:
        return sorted(i for i, f in self.ifu_flags.items() if "error" in f.values())

    def state(self) -> str:
        if "error" in self.file_flags.values():
            return "Fail"
        invalid = self.invalid_ifus()
        if invalid and len(invalid) >= len(self.measured_ifus):
            return "Fail"
        if invalid:
            return "Check"
        if self.file_flags or any(self.ifu_flags.values()):
            return "Usable"
        return "Pass"


def evaluate(metrics: list[tuple[int | None, str | None, str, float | None]],
             thresholds: ThresholdSet, night: dt.date, ins_mode: str | None) -> Verdict:
    """Verdict for the (ifu, subunit, name, value) metric rows of one file."""
    verdict = Verdict()
    for ifu, subunit, name, value in metrics:
        if ifu is not None:
            verdict.measured_ifus.add(ifu)
        for row in thresholds.applicable(name, night, ins_mode, ifu, subunit):
            level = row.verdict(value)
            if level:
                verdict.raise_flag(ifu, row.flag, level)
    return verdict
