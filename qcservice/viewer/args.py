"""Request arguments several pages take, checked in one way (a bad one is a 400 that
says what is allowed)."""

from __future__ import annotations

from collections.abc import Mapping

from flask import abort

from qcservice.vocabulary import N_IFU


def ifu_arg(values: Mapping[str, str], required: bool = False) -> int | None:
    """The ``ifu`` of a query string or form (1..N_IFU); None when absent and optional."""
    raw = values.get("ifu", "")
    if not raw and not required:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= N_IFU:
        abort(400, f"ifu must be 1..{N_IFU}")
    return int(raw)
