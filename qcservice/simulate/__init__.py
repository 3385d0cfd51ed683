"""A MUSE night simulator: raw frames and pipeline products with known truth.

``simulate_night(outdir, night, scale, modes, seed, faults)`` writes one night and
returns its :class:`NightTruth`; ``simulate(outdir, nights, ...)`` writes several.
The command line is ``musedc simulate`` (:mod:`qcservice.simulate.cli`).
"""

from qcservice.simulate.night import simulate, simulate_night
from qcservice.simulate.truth import NightTruth, load_truth

__all__ = ["NightTruth", "load_truth", "simulate", "simulate_night"]
