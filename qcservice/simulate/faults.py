"""The deliberate faults of a simulated night, for QC to find.

One of each, chosen per night from the night's random stream (``--no-faults`` turns all
off): a noisy IFU (read noise x 3 in that IFU's raw biases, hence in its master bias), a
flat with saturated pixels (one IFU of the first mode's lamp flats), a dead slice (one
slice of one IFU, dark in every lamp flat of the night and in the master flats), a cube
with bad sky subtraction (sky-line residuals x 20) and a raw frame whose primary header
lacks DATE-OBS (an extra bias, left out of the master bias).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qcservice.vocabulary import N_IFU, N_SLICE

NOISY_FACTOR = 3.0
BAD_SKY_FACTOR = 20.0
BROKEN_REASON = "DATE-OBS missing"


@dataclass(frozen=True)
class Faults:
    """Which faults a night carries; ``None``/``False`` means that fault is absent."""

    noisy_ifu: int | None = None
    saturated_flat_ifu: int | None = None
    dead_slice: tuple[int, int] | None = None  # (ifu, slice), both 1-based
    bad_sky_cube: int | None = None  # index k (1-based) of the science OB in the night
    broken_header: bool = False

    @classmethod
    def choose(cls, rng: np.random.Generator, n_science: int) -> Faults:
        """Draw one fault of each kind, on three different IFUs."""
        noisy, saturated, dead = (int(i) + 1 for i in rng.choice(N_IFU, 3, replace=False))
        slice_no = int(rng.integers(1, N_SLICE + 1))
        return cls(noisy_ifu=noisy, saturated_flat_ifu=saturated,
                   dead_slice=(dead, slice_no),
                   bad_sky_cube=n_science if n_science > 1 else 1, broken_header=True)

    def ron_factor(self, ifu: int) -> float:
        """Read-noise multiplier of ``ifu`` in the night's raw biases."""
        return NOISY_FACTOR if ifu == self.noisy_ifu else 1.0
