"""A MUSE night simulator: raw frames and pipeline products with known truth.

``simulate_night(outdir, night, scale, modes, seed, faults)`` writes one night and
returns its :class:`NightTruth`; ``simulate(outdir, nights, ...)`` writes several.
The command line is ``musedc simulate`` (:mod:`qcservice.simulate.cli`).
"""

from importlib import import_module
from typing import Any

# imported on first use: the simulator pulls in numpy and astropy, which every musedc
# command would otherwise pay at start-up (its CLI only needs the small layout modules)
_EXPORTS = {"simulate": "night", "simulate_night": "night", "NightTruth": "truth",
            "load_truth": "truth"}

__all__ = ["NightTruth", "load_truth", "simulate", "simulate_night"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"qcservice.simulate.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'qcservice.simulate' has no attribute {name!r}")
